"""The Compare page's ensemble: vote, weights, a greedy suggestion from out-of-fold probabilities, export.

Exported ensembles are prediction CSVs under .workbench/predictions/ (core.predictions.store), written
before the page says so, and offered as a download with their file name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core.analysis.scores import macro_f1
from core.io.text import shown
from core.predictions.ensemble import changed, greedy_selection, hard_vote, oof_matrix, soft_vote
from core.predictions.members import Member, PredictionError
from core.predictions.store import safe_name, save_member
from core.project.dataset import Dataset
from workbench import state
from workbench.components.compare_views import hold_out


def ensemble_builder(data: Dataset, members: list[Member]) -> None:
    """Method and weights, what the ensemble changes and scores, the greedy suggestion, and the export."""
    all_probs = all(m.has_probs for m in members)
    method = st.segmented_control(
        "Vote", ["soft", "hard"], default="soft" if all_probs else "hard", key=state.ENSEMBLE_METHOD,
        format_func={"soft": "Soft (mean probability)", "hard": "Hard (majority; ties: the earliest member)"}.get,
    ) or "hard"  # fmt: skip
    if method == "soft" and not all_probs:
        without = ", ".join(shown(m.name, 30) for m in members if not m.has_probs)
        st.warning(f"Soft voting needs probabilities; {without} has none. Using a hard vote.")
        method = "hard"
    weights = _weights(members)
    if sum(weights) <= 0:
        st.error("Give at least one member a weight above 0.")
        return
    labels = np.stack([m.labels for m in members])
    if method == "soft":
        probs = soft_vote(np.stack([m.probs for m in members]), weights=weights)
        result = Member("ensemble", probs.argmax(axis=1), probs, source="ensemble")
    else:
        result = Member("ensemble", hard_vote(labels, weights=weights, num_classes=data.num_classes), None, "ensemble")
    oof_score = _effects(data, members, result, labels, weights=weights, method=method)
    _greedy(data, members)
    about = {
        "produced_by": f"{method} vote of " + ", ".join(f"{m.name} ({w:g})" for m, w in zip(members, weights)),
        "method": method,
        "members": [m.name for m in members],
        "weights": list(weights),
        "oof_macro_f1": oof_score,
    }
    _export(data, members, result, weights=weights, method=method, about=about)


def _weights(members: list[Member]) -> list[float]:
    columns = st.columns(min(len(members), 6))
    weights = []
    for i, member in enumerate(members):
        key = state.ensemble_weight_key(member.name)
        with columns[i % len(columns)]:
            weights.append(
                float(
                    st.number_input(
                        shown(member.name, 30), min_value=0.0, max_value=100.0, value=1.0, step=0.5, key=key
                    )
                )  # fmt: skip
            )
    return weights


def _effects(
    data: Dataset, members: list[Member], result: Member, labels: np.ndarray, *, weights, method: str
) -> float | None:
    """The table of what the ensemble changes per member (and scores, on a hold-out); returns its OOF macro-F1."""
    moved = changed(result.labels, labels)
    table = pd.DataFrame({"member": [m.name for m in members], "weight": weights,
                          "predictions the ensemble changes": moved})  # fmt: skip
    labelled = hold_out(data)
    if labelled is not None:
        known, y = labelled
        table["test macro-F1"] = [macro_f1(y, m.labels[known], num_classes=data.num_classes) for m in members]
        score = macro_f1(y, result.labels[known], num_classes=data.num_classes)
        st.metric("Ensemble test macro-F1 (hold-out)", f"{score:.3f}",
                  delta=f"{score - table['test macro-F1'].max():+.3f} vs the best member")  # fmt: skip
    oof_score = _oof_score(data, members, weights=weights, method=method)
    if oof_score is not None:
        st.caption(f"Ensemble out-of-fold macro-F1 on the train images every member scored: {oof_score:.3f}")
    st.dataframe(table, hide_index=True, width="stretch")
    return oof_score


def _oof_score(data: Dataset, members: list[Member], *, weights, method: str) -> float | None:
    if not all(m.oof is not None for m in members):
        return None
    try:
        _, y, probs = oof_matrix([m.oof for m in members], num_classes=data.num_classes)
    except ValueError:
        return None
    if method == "soft":
        predicted = soft_vote(probs, weights=weights).argmax(axis=1)
    else:
        predicted = hard_vote(probs.argmax(axis=2), weights=weights, num_classes=data.num_classes)
    return macro_f1(y, predicted, num_classes=data.num_classes)


def _greedy(data: Dataset, members: list[Member]) -> None:
    with_oof = [m for m in members if m.oof is not None]
    if len(with_oof) < 2:
        return
    with st.expander("Suggest members and weights (greedy selection on out-of-fold probabilities)"):
        st.caption(
            "Caruana et al. (2004), as Kaggle teams use it: start empty, add (with replacement) the run whose "
            "addition raises the soft-vote ensemble's out-of-fold macro-F1 most, keep the best round. "
            "Only the project's runs have out-of-fold probabilities; teammates' files keep weight 0 here."
        )
        st.warning(
            "Out-of-fold scores come from clean train images. When test is noisier than train (the Overview's "
            "train vs test card), they favour runs that fit clean train: on the demo this selection picked plain "
            "scans (test macro-F1 0.29) over recipe scans (0.75-0.80). Check its pick against the leaderboard.",
            icon=":material/warning:",
        )
        try:
            _, y, probs = oof_matrix([m.oof for m in with_oof], num_classes=data.num_classes)
        except ValueError as exc:
            st.caption(shown(exc, 200))
            return
        selection = greedy_selection(probs, y, num_classes=data.num_classes, rounds=20)
        suggested = {m.name: 0.0 for m in members}
        suggested.update({m.name: float(c) for m, c in zip(with_oof, selection.counts)})
        best_single = max(macro_f1(y, p.argmax(axis=1), num_classes=data.num_classes) for p in probs)
        st.markdown(
            f"Out-of-fold macro-F1 **{selection.score:.3f}** after {selection.best_round} picks "
            f"(best single run {best_single:.3f}): "
            + ", ".join(f"{shown(n, 30)} x{int(w)}" for n, w in suggested.items() if w > 0)
        )
        st.button("Use these weights", on_click=state.set_weights, args=(suggested,), icon=":material/tune:")


def _export(data: Dataset, members: list[Member], result: Member, *, weights, method: str, about: dict) -> None:
    default = f"ensemble-{method}-" + "-".join(safe_name(m.name)[:12] for m in members[:4])
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    typed = left.text_input("Save the ensemble as", placeholder=default, key=state.ENSEMBLE_NAME,
                            help="A prediction CSV under .workbench/predictions/ (ID,target and probabilities for soft)")  # fmt: skip
    if right.button("Save", icon=":material/save:", type="primary"):
        try:
            path = save_member(data.layout, typed.strip() or default, result,
                               test_ids=data.test["ID"].astype(str).tolist(), about=about)  # fmt: skip
        except (PredictionError, OSError) as exc:
            st.error(f"Not saved: {shown(exc, 500)}")
        else:
            st.session_state[state.ENSEMBLE_SAVED] = str(path)
            st.success(f"Saved {path.name}: {method} vote of " + ", ".join(
                f"{shown(m.name, 30)} ({w:g})" for m, w in zip(members, weights)) + ".")  # fmt: skip
    saved = st.session_state.get(state.ENSEMBLE_SAVED)
    if saved and Path(saved).is_file():
        st.download_button(f"Download {Path(saved).name}", Path(saved).read_bytes(), file_name=Path(saved).name,
                           mime="text/csv", icon=":material/download:")  # fmt: skip
