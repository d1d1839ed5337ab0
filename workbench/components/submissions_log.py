"""The Submissions page's parts: log a submission, type in its leaderboard scores, and see whether the
validation score predicts the leaderboard. Every change is in workbench.db before the page says so."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.io.text import shown
from core.predictions.store import predictions_dir
from core.project.dataset import Dataset
from core.runs.catalog import RunInfo
from core.runs.folder import SUBMISSION
from core.submissions.log import (
    PREFIX,
    SubmissionError,
    file_submission,
    run_submission,
    set_scores,
    validation_vs_leaderboard,
)
from workbench import cache, state
from workbench.components.downloads import download_files


def log_form(data: Dataset, runs: list[RunInfo]) -> None:
    """Pick what was sent (a run's submission.csv or a prediction CSV), a note, and log it."""
    sources = {f"run:{r.run_id}": r for r in runs if r.state == "succeeded" and r.has(SUBMISSION)}
    files = [f for f in cache.prediction_files(data) if f.member is not None and not f.name.startswith(PREFIX)]
    options = [*sources, *(f"file:{f.name}" for f in files)]
    if not options:
        st.info("Nothing to log yet: finish a run, or save an ensemble on the Compare page.")
        return
    with st.form(state.SUBMISSIONS_FORM, border=True):
        left, right = st.columns([2, 3])
        chosen = left.selectbox("What you sent", options, format_func=_source_label)
        note = right.text_input("Note", max_chars=500, placeholder="e.g. TTA on, 5 folds, blend of Ana's and ours")
        if st.form_submit_button("Log this submission", icon=":material/send:", type="primary"):
            try:
                if chosen.startswith("run:"):
                    done = run_submission(data.layout, sources[chosen], note=note, test_ids=_ids(data),
                                          num_classes=data.num_classes)  # fmt: skip
                else:
                    path = predictions_dir(data.layout) / f"{chosen[5:]}.csv"
                    done = file_submission(data.layout, path, note=note, test_ids=_ids(data),
                                           num_classes=data.num_classes)  # fmt: skip
            except (SubmissionError, OSError) as exc:
                st.error(f"Not logged: {shown(exc, 800)}")
            else:
                st.success(f"Logged #{done.id}: {done.file} ({shown(done.produced_by, 120)}). "
                           "Type in its leaderboard score below when you have it.")  # fmt: skip


def _ids(data: Dataset) -> list[str]:
    return data.test["ID"].astype(str).tolist()


def _source_label(option: str) -> str:
    kind, name = option.split(":", 1)
    return f"{shown(name, 60)}  ({'run' if kind == 'run' else 'prediction file'})"


def scores_table(data: Dataset, log: pd.DataFrame) -> None:
    """The log as a table, a form to type in a submission's leaderboard scores, and its file's download."""
    columns = ["id", "created_at", "oof_macro_f1", "public_score", "private_score", "produced_by", "note", "file"]
    view = log[columns].copy()
    view["created_at"] = view["created_at"].str.slice(0, 16).str.replace("T", " ")
    for column in ("oof_macro_f1", "public_score", "private_score"):
        view[column] = pd.to_numeric(view[column], errors="coerce").astype("float64")
    st.dataframe(
        view.iloc[::-1],
        hide_index=True,
        width="stretch",
        column_config={
            "id": st.column_config.NumberColumn("#", width="small"),
            "created_at": st.column_config.TextColumn("sent (UTC)"),
            "oof_macro_f1": st.column_config.NumberColumn("OOF macro-F1", format="%.4f"),
            "public_score": st.column_config.NumberColumn("public LB", format="%.4f"),
            "private_score": st.column_config.NumberColumn("private LB", format="%.4f"),
        },
    )
    ids = log["id"].astype(int).tolist()[::-1]
    with st.form(state.SUBMISSIONS_SCORES, border=True):
        left, middle, right = st.columns(3)
        chosen = left.selectbox("Submission", ids, format_func=lambda i: f"#{i}")
        public = middle.number_input("Public leaderboard score", value=None, format="%.5f", placeholder="as shown")
        private = right.number_input("Private leaderboard score", value=None, format="%.5f", placeholder="later")
        if st.form_submit_button("Save the scores", icon=":material/save:"):
            if public is None and private is None:
                st.warning("Type a public or a private score first.")
            else:
                try:
                    done = set_scores(data.layout, int(chosen), public=public, private=private)
                except (SubmissionError, OSError) as exc:
                    st.error(f"Not saved: {shown(exc, 300)}")
                else:  # saved: the page is drawn again from the database, with this line on top
                    state.set_flash(
                        f"Saved #{done.id}: public {_fmt(done.public_score)}, private {_fmt(done.private_score)}."
                    )
                    st.rerun()
    picked = st.selectbox("Download a submitted file", log["file"].tolist()[::-1], index=None,
                          placeholder="Pick a submission")  # fmt: skip
    if picked:
        download_files([predictions_dir(data.layout) / picked])


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def correlation_plot(log: pd.DataFrame) -> None:
    """Leaderboard score against OOF macro-F1 over every submission with both, with their correlation."""
    n, pearson, spearman = validation_vs_leaderboard(log)
    points = log.dropna(subset=["oof_macro_f1", "public_score"])
    if points.empty:
        st.caption("The plot of leaderboard score against OOF macro-F1 appears once a submission has both.")
        return
    figure = go.Figure()
    figure.add_scatter(x=points["oof_macro_f1"], y=points["public_score"], mode="markers+text", name="public",
                       text=[f"#{i}" for i in points["id"]], textposition="top center",
                       hovertext=[shown(p, 80) for p in points["produced_by"]])  # fmt: skip
    private = log.dropna(subset=["oof_macro_f1", "private_score"])
    if not private.empty:
        figure.add_scatter(x=private["oof_macro_f1"], y=private["private_score"], mode="markers", name="private")
    figure.update_layout(height=380, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         xaxis_title="OOF macro-F1 (our validation)", yaxis_title="leaderboard score")  # fmt: skip
    st.plotly_chart(figure, width="stretch")
    if math.isnan(pearson):
        st.caption(f"{n} submission(s) with both figures: the correlation needs at least 3 that differ.")
    else:
        verdict = "yes, closely" if pearson >= 0.8 else "roughly" if pearson >= 0.5 else "not reliably"
        st.markdown(f"**Does our validation predict the leaderboard?** {verdict}: Pearson r = {pearson:.2f}, "
                    f"Spearman rho = {spearman:.2f} over {n} submissions"
                    + (" (few points: weak evidence so far)." if n < 6 else "."))  # fmt: skip
