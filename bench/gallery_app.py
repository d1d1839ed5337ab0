"""A one-gallery Streamlit app for the gallery benchmark: the train split, 100 thumbnails per page.

    WORKBENCH_PROJECT=DIR streamlit run bench/gallery_app.py

Same data path as the pages (workbench.cache.dataset -> core.analysis.overview.gallery_items ->
workbench.components.gallery.gallery), without the rest of the overview page.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from core.analysis.overview import gallery_items  # noqa: E402
from workbench.cache import dataset  # noqa: E402
from workbench.components.gallery import gallery  # noqa: E402

PAGE_SIZE = int(os.environ.get("BENCH_PAGE_SIZE", "100"))

st.set_page_config(page_title="Gallery benchmark", layout="wide")
project = Path(os.environ["WORKBENCH_PROJECT"]).resolve()
data = dataset(project)
st.title("Gallery benchmark")
gallery(gallery_items(data, "train"), name="b", page_size=PAGE_SIZE)
