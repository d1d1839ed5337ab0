"""What-if copies of the overview page, for `overview_load.py --what-if` (never used by the app).

    VARIANT=as_is|galleries_first|no_charts WORKBENCH_PROJECT=DIR streamlit run bench/overview_variant.py

The page's own source (pages/overview.py) is read and, for the variants, cut and reordered as
text, then run with the app's sidebar, so the comparison measures only the change named:
  as_is            the page unchanged (same harness as the variants, for a fair comparison)
  galleries_first  the "Train beside test" galleries drawn before the two plotly charts
  no_charts        the two plotly charts left out
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from workbench.components.project_picker import project_sidebar  # noqa: E402

CHARTS_START = "left, right = st.columns([3, 2])"
GALLERIES_START = 'st.subheader("Train beside test")'


def variant_source(source: str, variant: str) -> str:
    start, end = source.index(CHARTS_START), source.index(GALLERIES_START)
    charts = source[start:end]
    if variant == "galleries_first":
        return source[:start] + source[end:] + "\n" + charts
    if variant == "no_charts":
        return source[:start] + source[end:]
    return source


st.set_page_config(page_title="Image workbench", layout="wide")
project_sidebar()
page = _ROOT / "pages" / "overview.py"
code = variant_source(page.read_text(encoding="utf-8"), os.environ.get("VARIANT", "as_is"))
exec(compile(code, str(page), "exec"), {"__name__": "__main__"})  # noqa: S102 - our own page's source
