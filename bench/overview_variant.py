"""What-if arrangements of the overview page, for `overview_load.py --what-if` (never used by the app).

    VARIANT=as_is|galleries_first|no_charts WORKBENCH_PROJECT=DIR streamlit run bench/overview_variant.py

Each variant runs with the app's sidebar and draws the page's own sections (the components of
workbench/components/data_overview.py, which pages/overview.py calls), so the comparison measures
only the change named:
  as_is            pages/overview.py itself (same harness as the variants, for a fair comparison)
  galleries_first  the "Train beside test" galleries drawn before the two plotly charts
  no_charts        the two plotly charts left out
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from core.analysis.overview import test_predictions  # noqa: E402
from core.runs.catalog import list_runs  # noqa: E402
from workbench import state  # noqa: E402
from workbench.cache import dataset  # noqa: E402
from workbench.components.data_overview import (  # noqa: E402
    distribution_charts,
    project_summary,
    train_beside_test,
)
from workbench.components.project_picker import project_sidebar  # noqa: E402


def variant(name: str) -> None:
    """The page's sections in the order (and selection) the variant names."""
    data = dataset(state.current_project())
    st.title("Overview")
    project_summary(data)
    if not data.report.usable:
        return
    run_id = state.active_run(list_runs(data.layout))
    predictions = test_predictions(data.layout.runs_dir / run_id) if run_id else None
    if name == "galleries_first":
        train_beside_test(data, predictions=predictions)
        distribution_charts(data, predictions=predictions, run_id=run_id)
    elif name == "no_charts":
        train_beside_test(data, predictions=predictions)
    else:
        raise ValueError(f"unknown VARIANT {name!r}")


st.set_page_config(page_title="Image workbench", layout="wide")
project_sidebar()
chosen = os.environ.get("VARIANT", "as_is")
if chosen == "as_is":
    runpy.run_path(str(_ROOT / "pages" / "overview.py"), run_name="__main__")
else:
    variant(chosen)
