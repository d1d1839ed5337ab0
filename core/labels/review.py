"""The review queue: flagged images in the order a reviewer sees them, with their decisions joined.

review_queue(issues, decisions, ...)    undecided label issues, worst first
filter_queue(queue, ...)                by given / suggested class and issue kind
review_columns / join_review_columns    each image's review state, for the analysis pages
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.issues.label_issues import DEFAULT_FILTER_BY, DEFAULT_SCORE_METHOD
from core.issues.run_issues import KINDS, cache_key, issues_cache_dir, read_cached
from core.project.layout import ProjectLayout


def review_columns(layout: ProjectLayout, run_id: str) -> pd.DataFrame | None:
    """Columns the analysis pages join onto a run's predictions: split, ID, is_label_issue,
    label_score (from this run's cached label issues, if the Issues page or `workbench issues`
    computed them) and review (the image's current decision: keep / relabel / drop / ambiguous /
    unreviewed).

    Reads only: nothing is computed here. None when there is neither a cached result nor a decision.
    """
    from core.labels.decisions import current_decisions

    frame = None
    for data in (True, False):
        key = cache_key(layout, (run_id,), filter_by=DEFAULT_FILTER_BY, score_method=DEFAULT_SCORE_METHOD, data=data)
        cached = read_cached(issues_cache_dir(layout) / key, (run_id,), key)
        if cached is not None:
            frame = cached.labels[["ID", "is_label_issue", "label_score"]].copy()
            break
    decisions = current_decisions(layout.db_path) if layout.db_path.is_file() else None
    if frame is None and (decisions is None or not len(decisions)):
        return None
    if frame is None:
        frame = pd.DataFrame({"ID": decisions["ID"]})
    review = dict(zip(decisions["ID"], decisions["action"])) if decisions is not None else {}
    frame["review"] = [review.get(i, "unreviewed") for i in frame["ID"]]
    frame.insert(0, "split", "train")
    return frame


def join_review_columns(table: pd.DataFrame, layout: ProjectLayout, run_id: str) -> pd.DataFrame:
    """A run's prediction table (core.analysis.predictions) with `review_columns` joined on; unchanged without any."""
    from core.analysis.predictions import attach_columns

    extra = review_columns(layout, run_id)
    if extra is None:
        return table
    joined = attach_columns(table, extra)
    train = joined["split"] == "train"
    joined.loc[train, "review"] = joined.loc[train, "review"].fillna("unreviewed")
    return joined


# --------------------------------------------------------------------------------------- review queue


def review_queue(
    queue: pd.DataFrame,
    decided_ids,
    *,
    given: Sequence[int] | None = None,
    suggested: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
    skipped: Sequence[str] = (),
) -> pd.DataFrame:
    """The rows still to review, in `queue`'s order (worst label score first).

    queue: RunIssues.queue(); decided_ids: IDs with a current decision (left out: an image marked
    ambiguous is decided too, so it no longer shows up among the flags); given / suggested: keep
    only these classes (None or empty: all); kinds: keep rows flagged by any of these issue kinds
    (None or empty: all); skipped: IDs the reviewer put off, moved to the end.
    """
    unknown = sorted(set(kinds or ()) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown issue kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    mask = filter_queue(queue, given=given, suggested=suggested, kinds=kinds).to_numpy(copy=True)
    mask &= ~queue["ID"].isin(pd.Index(list(decided_ids))).to_numpy()
    rows = queue.loc[mask]
    if skipped:
        later = rows["ID"].isin(pd.Index(skipped)).to_numpy()
        rows = pd.concat([rows.loc[~later], rows.loc[later]])
    return rows


def filter_queue(
    queue: pd.DataFrame,
    *,
    given: Sequence[int] | None = None,
    suggested: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
) -> pd.Series:
    """Boolean mask of `queue` rows matching the class and kind filters (decided rows included)."""
    mask = pd.Series(True, index=queue.index)
    if given:
        mask &= queue["given_label"].isin(list(given))
    if suggested:
        mask &= queue["suggested_label"].isin(list(suggested))
    if kinds:
        mask &= queue[[f"is_{kind}_issue" for kind in kinds]].any(axis=1)
    return mask


def confident_examples(labels: pd.DataFrame, *, per_class: int = 4) -> dict[int, list[str]]:
    """The `per_class` most confidently right examples of each class: reference images for a reviewer.

    labels: the ranked label table (with prob_*); an example qualifies when the model agrees with
    its given label and cleanlab did not flag it. Ranked by that class's probability, highest first.
    """
    num_classes = sum(c.startswith("prob_") for c in labels.columns)
    agree = labels.loc[(labels["given_label"] == labels["suggested_label"]) & ~labels["is_label_issue"]]
    result: dict[int, list[str]] = {}
    for target, members in agree.groupby("given_label"):
        column = f"prob_{int(target)}"
        if column in members:
            result[int(target)] = members.nlargest(per_class, column)["ID"].tolist()
    for target in range(num_classes):
        result.setdefault(target, [])
    return result


def top_classes(probs: Sequence[float], *, keep: Sequence[int] = (), k: int = 5) -> list[tuple[int, float]]:
    """(class, probability) of the k most likely classes, plus any of `keep`, most likely first."""
    probs = np.asarray(probs, dtype=np.float64)
    order = [int(i) for i in np.argsort(-probs, kind="stable")[:k]]
    order += [int(c) for c in keep if int(c) not in order and 0 <= int(c) < len(probs)]
    return sorted(((c, float(probs[c])) for c in order), key=lambda pair: -pair[1])
