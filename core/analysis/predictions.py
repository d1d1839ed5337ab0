"""Error analysis of one run, as pure functions over its stored predictions (no files, no streamlit).

Vocabulary as everywhere else: N images, K classes, `labels` (N,) class indices, `predicted` (N,),
`pred_probs` (N, K). A run's predictions are first gathered into one *prediction table*
(`prediction_table`): one row per image, train rows from oof.csv and test rows from test_probs.csv,
with these columns:

    ID, split ("train" | "test"), fold (train only), given (the label the image is scored against:
    the train label, the hold-out label for test; <NA> for an unlabelled test image), predicted,
    confidence (probability of the predicted class), given_prob, loss (cross-entropy of the given
    label, natural log; NaN when unlabelled), correct (boolean, <NA> when unlabelled),
    prob_0 .. prob_{K-1}

The other functions filter, sort and summarise that table or plain label arrays: the confusion
matrix, a per-class report, the most confused pairs, where two runs disagree, nearest neighbours
in embedding space, and the rows the gallery shows.

Extension point: results computed elsewhere (e.g. label issues: `is_label_issue`, `label_score`,
a review state) are joined onto the table with `attach_columns`; `filter_predictions(where=...)`
filters on any such column, and pages offer filters/colours for the optional columns they find.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from core.runs.folder import prob_columns

SPLITS = ("train", "test")


SORT_KEYS = ("confidence", "loss", "ID")


# Columns other results may join onto the prediction table (`attach_columns`); a page offers a
# filter for each one present, and nothing for those absent. {column: what the filter is about}
OPTIONAL_FILTERS = {"is_label_issue": "flagged as a label issue", "review": "review state"}


Outcome = Literal["all", "correct", "wrong"]


# Probability floor for the loss: a model that gave the label exactly 0 gets a large, finite loss.
_EPS = 1e-12


# ---------------------------------------------------------------- validation (the public edge)


def check_num_classes(num_classes: int) -> None:
    if not isinstance(num_classes, int | np.integer) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")


def check_labels(name: str, values: np.ndarray, num_classes: int) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (N,), got shape {values.shape}")
    if values.size and not np.issubdtype(values.dtype, np.integer):
        as_int = values.astype(np.int64)
        if not np.array_equal(as_int, values):
            raise ValueError(f"{name} must hold integer class indices")
        values = as_int
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        bad = values[(values < 0) | (values >= num_classes)]
        raise ValueError(f"{name} holds class indices outside 0..{num_classes - 1}: {sorted(set(bad.tolist()))[:5]}")
    return values.astype(np.int64, copy=False)


def check_pair(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    check_num_classes(num_classes)
    labels = check_labels("labels", labels, num_classes)
    predicted = check_labels("predicted", predicted, num_classes)
    if len(labels) != len(predicted):
        raise ValueError(f"labels has {len(labels)} entries but predicted has {len(predicted)}")
    return labels, predicted


def check_frame(name: str, frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {', '.join(missing)} (has {', '.join(map(str, frame.columns))})")


# ---------------------------------------------------------------- the prediction table


def prediction_table(
    oof: pd.DataFrame | None,
    test_probs: pd.DataFrame | None = None,
    test_labels: pd.DataFrame | None = None,
    *,
    num_classes: int,
) -> pd.DataFrame:
    """One row per image a run scored (train out-of-fold, then test); columns in the module docstring.

    oof: oof.csv (ID, fold, given, predicted, prob_*); test_probs: test_probs.csv (ID, prob_*);
    test_labels: the labelled hold-out (ID, target), or None. Either frame may be None (a run
    cancelled before its first fold has no oof.csv).
    """
    check_num_classes(num_classes)
    probs = prob_columns(num_classes)
    parts = []
    if oof is not None:
        check_frame("oof", oof, ["ID", "given", *probs])
        train = pd.DataFrame({"ID": oof["ID"].astype(str).to_numpy(), "split": "train"})
        train["fold"] = pd.array(oof["fold"] if "fold" in oof else [pd.NA] * len(oof), dtype="Int64")
        given = check_labels("oof given", oof["given"].to_numpy(), num_classes)
        train["given"] = pd.array(given, dtype="Int64")
        parts.append((train, oof[probs].to_numpy(dtype=np.float64)))
    if test_probs is not None:
        check_frame("test_probs", test_probs, ["ID", *probs])
        test = pd.DataFrame({"ID": test_probs["ID"].astype(str).to_numpy(), "split": "test"})
        test["fold"] = pd.array([pd.NA] * len(test), dtype="Int64")
        if test_labels is not None and len(test_labels):
            check_frame("test_labels", test_labels, ["ID", "target"])
            truth = test_labels.assign(ID=test_labels["ID"].astype(str)).drop_duplicates("ID").set_index("ID")
            target = truth["target"].reindex(test["ID"])
            known = target.notna().to_numpy()
            check_labels("test_labels target", target[known].to_numpy(), num_classes)
            test["given"] = pd.array(target.to_numpy(), dtype="Int64")
        else:
            test["given"] = pd.array([pd.NA] * len(test), dtype="Int64")
        parts.append((test, test_probs[probs].to_numpy(dtype=np.float64)))
    if not parts:
        frame = pd.DataFrame({"ID": pd.Series(dtype=str), "split": pd.Series(dtype=str)})
        frame["fold"] = pd.array([], dtype="Int64")
        frame["given"] = pd.array([], dtype="Int64")
        matrix = np.zeros((0, num_classes))
    else:
        frame = pd.concat([p[0] for p in parts], ignore_index=True)
        matrix = np.vstack([p[1] for p in parts])
    predicted = matrix.argmax(axis=1) if len(matrix) else np.zeros(0, dtype=np.int64)
    frame["predicted"] = predicted.astype(np.int64)
    frame["confidence"] = matrix.max(axis=1) if len(matrix) else np.zeros(0)
    given = frame["given"].to_numpy(dtype=np.float64, na_value=np.nan)
    known = ~np.isnan(given)
    given_prob = np.full(len(frame), np.nan)
    rows = np.flatnonzero(known)
    given_prob[rows] = matrix[rows, given[rows].astype(np.int64)]
    frame["given_prob"] = given_prob
    frame["loss"] = -np.log(np.clip(given_prob, _EPS, None))
    correct = pd.array(predicted == np.nan_to_num(given, nan=-1).astype(np.int64), dtype="boolean")
    correct[~known] = pd.NA
    frame["correct"] = correct
    return pd.concat([frame, pd.DataFrame(matrix, columns=probs)], axis=1)


def attach_columns(table: pd.DataFrame, extra: pd.DataFrame, *, on: Sequence[str] = ("split", "ID")) -> pd.DataFrame:
    """`table` with the other columns of `extra` joined on `on` (rows of `extra` not in `table` dropped).

    The extension point for results computed elsewhere, e.g. label issues (ID, split,
    is_label_issue, label_score) or a review state per image.
    """
    check_frame("extra", extra, list(on))
    clash = [c for c in extra.columns if c in table.columns and c not in on]
    if clash:
        raise ValueError(f"extra would overwrite prediction column(s) {', '.join(clash)}")
    return table.merge(extra.drop_duplicates(list(on)), on=list(on), how="left")


def labelled(table: pd.DataFrame, split: str) -> pd.DataFrame:
    """Rows of one split whose given label is known (train: all; test: the hold-out)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return table.loc[(table["split"] == split) & table["given"].notna()]


# ---------------------------------------------------------------- filters and sorting


def filter_predictions(
    table: pd.DataFrame,
    *,
    split: str | None = None,
    true_classes: Iterable[int] | None = None,
    predicted_classes: Iterable[int] | None = None,
    outcome: Outcome = "all",
    confidence: tuple[float, float] = (0.0, 1.0),
    where: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The rows matching every criterion given; None / empty / "all" means no restriction.

    true_classes: given labels kept (an unlabelled test image never matches a non-empty list);
    outcome: "correct" or "wrong" keeps labelled rows only; confidence: inclusive range of the
    predicted class's probability; where: {column: value or collection of values} on any column,
    e.g. {"is_label_issue": True} once label issues are attached.
    """
    if outcome not in ("all", "correct", "wrong"):
        raise ValueError(f"outcome must be 'all', 'correct' or 'wrong', got {outcome!r}")
    low, high = confidence
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"confidence must be a range (low, high) inside [0, 1], got {confidence!r}")
    mask = np.ones(len(table), dtype=bool)
    if split is not None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        mask &= (table["split"] == split).to_numpy()
    true_classes = list(true_classes or [])
    if true_classes:
        mask &= table["given"].isin(true_classes).fillna(False).to_numpy(dtype=bool)
    predicted_classes = list(predicted_classes or [])
    if predicted_classes:
        mask &= table["predicted"].isin(predicted_classes).to_numpy()
    if outcome != "all":
        wanted = outcome == "correct"
        mask &= (table["correct"] == wanted).fillna(False).to_numpy(dtype=bool)
    conf = table["confidence"].to_numpy()
    # A small tolerance so a slider's rounded ends (e.g. 1.0) keep probabilities like 0.99999999.
    mask &= (conf >= low - 1e-9) & (conf <= high + 1e-9)
    for column, wanted in (where or {}).items():
        if column not in table.columns:
            raise ValueError(f"where names column {column!r}, which the table lacks")
        values = list(wanted) if isinstance(wanted, list | tuple | set | frozenset) else [wanted]
        mask &= table[column].isin(values).fillna(False).to_numpy(dtype=bool)
    return table.loc[mask]


def optional_filters(table: pd.DataFrame) -> dict[str, list]:
    """{column: its distinct values, sorted} for each OPTIONAL_FILTERS column the table has."""
    found = {}
    for column in OPTIONAL_FILTERS:
        if column in table.columns:
            values = table[column].dropna().unique().tolist()
            found[column] = sorted(values, key=lambda v: (str(type(v)), v))
    return found


def sort_predictions(table: pd.DataFrame, *, by: str = "confidence", descending: bool = False) -> pd.DataFrame:
    """Sorted by confidence, loss or ID (stable; missing values last; ties broken by ID)."""
    if by not in SORT_KEYS:
        raise ValueError(f"by must be one of {SORT_KEYS}, got {by!r}")
    keys = [by] if by == "ID" else [by, "ID"]
    ascending = [not descending] if by == "ID" else [not descending, True]
    return table.sort_values(keys, ascending=ascending, na_position="last", kind="stable")


# ---------------------------------------------------------------- gallery rows


def prediction_cards(
    predictions: pd.DataFrame, items: pd.DataFrame, *, class_names: Mapping[int, str], split: str | None = None
) -> pd.DataFrame:
    """Gallery rows for predictions, in the order of `predictions`.

    items: the split's gallery rows (core.analysis.overview.gallery_items: ID, thumb, path, width, height);
    images without a thumbnail are left out. Each card reads "given → predicted" with the
    confidence and ID beneath, a red border when wrong and green when right; the dialog lists
    split, given, predicted, confidence and loss.
    """
    check_frame("items", items, ["ID", "thumb", "path"])
    split = split or (str(predictions["split"].iloc[0]) if len(predictions) else "train")
    base = items[["ID", "thumb", "path", *[c for c in ("width", "height") if c in items]]].drop_duplicates("ID")
    rows = predictions.loc[predictions["split"] == split]
    cards = rows[["ID", "split", "given", "predicted", "confidence", "loss", "correct"]].merge(
        base, on="ID", how="inner"
    )

    def name(target) -> str:
        return "" if pd.isna(target) else f"{int(target)} · {class_names.get(int(target), str(target))}"

    given_names = [name(t) for t in cards["given"]]
    predicted_names = [name(t) for t in cards["predicted"]]
    short = {int(k): v for k, v in class_names.items()}
    cards["caption"] = [
        f"{short.get(int(g), g) if pd.notna(g) else '?'} → {short.get(int(p), p)}"
        for g, p in zip(cards["given"], cards["predicted"])
    ]
    cards["sub"] = [f"{c:.0%} · {i}" for c, i in zip(cards["confidence"], cards["ID"])]
    cards["tone"] = ["" if pd.isna(c) else ("good" if c else "bad") for c in cards["correct"]]
    cards["given"] = given_names
    cards["predicted"] = predicted_names
    cards["confidence"] = cards["confidence"].round(4)
    cards["loss"] = cards["loss"].round(4)
    return cards.drop(columns=["correct"])


# ---------------------------------------------------------------- embedding map


def projection_points(projection: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """The points of a 2-D projection (ID, split, x, y) with each image's prediction columns, in projection order.

    Adds given, predicted, confidence, correct and any optional column the predictions carry (e.g.
    label_score); an image the run did not score keeps <NA> there.
    """
    check_frame("projection", projection, ["ID", "split", "x", "y"])
    check_frame("predictions", predictions, ["ID", "split", "given", "predicted", "confidence", "correct"])
    skip = {"fold", "given_prob", "loss"} | {c for c in predictions.columns if str(c).startswith("prob_")}
    keep = [c for c in predictions.columns if c not in skip]
    points = projection[["ID", "split", "x", "y"]].merge(
        predictions[keep].drop_duplicates(["split", "ID"]), on=["split", "ID"], how="left"
    )
    return points.reset_index(drop=True)
