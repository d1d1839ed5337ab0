"""The Recipes page's fit table: how close each recipe's copies look to test, what still differs, and a map.

The scores come from a background job (core.recipes.fit_job, through core.runs.jobs like every job);
this component reads its result files, starts it for the recipes not scored yet, and polls its
progress. Calls go through the module (`fit_job.start_fit`), so a test can replace the job start.
"""

from __future__ import annotations

import html
import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import core.recipes.fit_job as fit_job
from core.project.dataset import Dataset
from core.recipes import fit_cache
from core.recipes.store import RecipeInfo
from core.runs.status import ACTIVE
from workbench import cache

PARAMS = fit_cache.FitParams()
_SETS = {  # overlay set -> (legend, colour, marker size)
    "train": ("train as it is", "#9aa0a6", 4),
    "copy": ("train through the recipe", "#f28e2b", 4),
    "test": ("test", "#4e79a7", 5),
}


def recipe_fit(data: Dataset, infos: list[RecipeInfo]) -> None:
    """The fit table of every usable recipe, the button that scores the rest, the job's progress, the map."""
    layout = data.layout
    shared = cache.fit_data_key(data, PARAMS)
    keys = {info.name: fit_cache.recipe_key(info.version, shared) for info in infos if info.version and not info.error}
    results = fit_cache.fit_results(layout, keys)
    st.subheader("Fit to test")
    st.caption(
        f"How close each recipe's copies of {min(len(data.train), PARAMS.train_rows):,} train images look to "
        f"{min(len(data.test), PARAMS.test_rows):,} test images, from their embeddings "
        f"({PARAMS.backbone}, {PARAMS.image_size} px): 0 is indistinguishable from test, more negative is further. "
        "On the bench projects this score ranked recipes as the test macro-F1 of a recipe scan with each did. "
        "'Far off' names the kinds of difference the copies keep from test, 'partly off' those they imitate "
        "roughly (from pixel statistics: orientation, colour, noise, blur, size)."
    )
    status = fit_job.fit_status(layout)
    if status["state"] in ACTIVE:
        fit_progress(layout)
    else:
        _last_outcome(status)
        missing = [name for name in keys if name not in results or results[name].error]
        if missing and st.button(
            f"Score {len(missing)} recipe{'s' if len(missing) > 1 else ''} not scored yet",
            icon=":material/speed:",
            help=f"{', '.join(missing)}: about 15-45 s each on a CPU, in the background",
        ):
            fit_job.start_fit(layout, missing, PARAMS)
            st.rerun()
    if not results:
        return
    table = _table(results)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "fit score": st.column_config.ProgressColumn(
                "fit score", min_value=min(-1.0, float(table["fit score"].min())), max_value=0.0, format="%.3f"
            ),
        },
    )
    _overlay(results)


def _table(results: dict[str, fit_cache.FitResult]) -> pd.DataFrame:
    rows = [
        {
            "recipe": name,
            "fit score": result.score,
            "far off": ", ".join(result.far_off) or ("-" if not result.error else ""),
            "partly off": ", ".join(result.partly) or ("-" if not result.error else ""),
            "version": result.version,
            "seconds": result.seconds,
            "problem": result.error,
        }
        for name, result in results.items()
    ]
    table = pd.DataFrame(rows).sort_values("fit score", ascending=False, na_position="last", kind="stable")
    if not table["problem"].astype(bool).any():
        table = table.drop(columns="problem")
    return table


def _last_outcome(status: dict) -> None:
    if status["state"] == "failed":
        st.error(f"Scoring failed: {str(status.get('message', ''))[:300]}", icon=":material/error:")
        if status.get("traceback"):
            with st.expander("Traceback"):
                st.code(str(status["traceback"])[-4000:], language="text")


@st.fragment(run_every=1.0)
def fit_progress(layout) -> None:
    """Polls the fit job's status file; the page reruns in full when the job has ended."""
    status = fit_job.fit_status(layout)
    if status["state"] not in ACTIVE:
        st.rerun()
    message = str(status.get("message") or "starting").splitlines()[0][:200]
    st.progress(min(1.0, max(0.0, float(status.get("progress", 0.0)))), text=f"Scoring recipes: {message}")


def _overlay(results: dict[str, fit_cache.FitResult]) -> None:
    ranked = sorted(results, key=lambda n: -results[n].score if math.isfinite(results[n].score) else math.inf)
    with_maps = [name for name in ranked if results[name].overlay is not None]
    if not with_maps:
        return
    chosen = st.selectbox("Map of test over a recipe's copies", with_maps, help="The best fitting recipe first")
    try:
        points = fit_cache.read_overlay(results[chosen].overlay)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign .npz (BadZipFile, EOFError, KeyError, ...)
        st.warning(f"The map of {html.escape(chosen)} cannot be read ({type(exc).__name__}); score it again.")
        return
    figure = go.Figure()
    for name, (legend, colour, size) in _SETS.items():
        part = points[points["set"] == name]
        figure.add_trace(
            go.Scattergl(
                x=part["x"], y=part["y"], mode="markers", name=f"{legend} ({len(part):,})", text=part["ID"],
                marker={"color": colour, "size": size, "opacity": 0.55 if name == "train" else 0.8},
                hovertemplate="%{text}<extra>" + legend + "</extra>",
            )
        )  # fmt: skip
    score = results[chosen].score
    figure.update_layout(
        height=460,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title=f"{chosen}: fit score {score:.3f}" if math.isfinite(score) else chosen,
        legend={"orientation": "h", "y": -0.05},
        xaxis={"visible": False},
        yaxis={"visible": False},
    )
    st.plotly_chart(figure, width="stretch")
    st.caption(
        "UMAP of the embeddings. Where the orange copies cover the blue test points, the recipe makes train look "
        "like test; blue regions with no orange are test images no recipe copy resembles. Click a legend entry to hide it."
    )
