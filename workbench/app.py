"""Entry point: `workbench serve [--project DIR]`, or `streamlit run workbench/app.py [-- --project DIR]` from any
folder (Streamlit reads workbench/.streamlit/config.toml beside this file). A router and nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts this file's folder on sys.path, not the repository root; make `core` and
# `pages` importable when the package is not installed (an installed one wins).
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.append(_ROOT)

import streamlit as st  # noqa: E402

from workbench.cache import warm_other_pages_once, warm_umap_once  # noqa: E402
from workbench.components.exposure import exposure_banner  # noqa: E402
from workbench.components.gallery import load_gallery_code  # noqa: E402
from workbench.components.project_picker import project_sidebar  # noqa: E402

st.set_page_config(page_title="Image workbench", page_icon=":material/grid_view:", layout="wide")
load_gallery_code()  # first, so a new user's browser fetches it while the project loads

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

navigation = st.navigation(
    {
        "Data": [
            st.Page(PAGES_DIR / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
        ],
        "Analysis": [
            st.Page(PAGES_DIR / "browse.py", title="Browse", icon=":material/photo_library:"),
            st.Page(PAGES_DIR / "errors.py", title="Errors", icon=":material/grid_on:"),
            st.Page(PAGES_DIR / "embeddings.py", title="Embeddings", icon=":material/scatter_plot:"),
        ],
        "Labels": [
            st.Page(PAGES_DIR / "issues.py", title="Issues", icon=":material/rule:"),
        ],
        "Model": [
            st.Page(PAGES_DIR / "recipes.py", title="Recipes", icon=":material/auto_fix_high:"),
            st.Page(PAGES_DIR / "train.py", title="Train", icon=":material/model_training:"),
            st.Page(PAGES_DIR / "runs.py", title="Runs", icon=":material/history:"),
        ],
        "Submit": [
            st.Page(PAGES_DIR / "compare.py", title="Compare", icon=":material/join_inner:"),
            st.Page(PAGES_DIR / "submissions.py", title="Submissions", icon=":material/leaderboard:"),
        ],
    }
)
exposure_banner(served=Path(sys.argv[0]).resolve() == Path(__file__).resolve())  # sys.argv: `streamlit run` sets it
project_sidebar()
navigation.run()
# Background work starts after the page, so a new user's first view does not share the CPU with it:
warm_umap_once()  # a process that imports for 0.6 s, then waits 20 s
warm_other_pages_once()
