"""Finding what is wrong with the train labels and images, with cleanlab; results cached per run.

Pure functions over arrays (cleanlab's vocabulary: N examples, K classes, `labels` (N,) class
indices, `pred_probs` (N, K) out-of-fold probabilities, `embeddings` (N, D)):

    label_issues(labels, pred_probs, *, ids)          ranked label issues: ID, given_label,
                                                      suggested_label, label_score, is_label_issue
    data_issues(embeddings, labels, *, ids, test_embeddings, test_ids)
                                                      Datalab: outliers, near duplicates within
                                                      train, train/test leakage, class imbalance

and the run-level layer the page and `workbench issues` share:

    run_pred_probs(run_dirs)            one run's oof.csv, or several runs' probabilities averaged
    issues_for_runs(layout, run_ids)    both tables, computed once and kept under
                                        .workbench/cache/issues/<key>/ (key: runs, file mtimes,
                                        cleanlab version, options)

cleanlab is imported only inside the functions that use it (pages must stay light).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.project import ProjectLayout
from core.runs import EMBEDDING_IDS, EMBEDDINGS, OOF, prob_columns

ISSUE_COLUMNS = ["ID", "given_label", "suggested_label", "label_score", "is_label_issue"]
# Issue kinds of the review queue, in the order the page offers them.
KINDS = ("label", "outlier", "near_duplicate", "leakage", "class_imbalance")
KIND_TITLES = {
    "label": "Label issues",
    "outlier": "Outliers",
    "near_duplicate": "Near duplicates",
    "leakage": "Train/test leakage",
    "class_imbalance": "Class imbalance",
}
# filter_by: cleanlab's find_label_issues filters, or RANKED_CALIBRATED (ours, the default): the
# `n` lowest label scores, where n is cleanlab's calibrated estimate of the number of wrong labels
# (count.num_label_issues(estimation_method="off_diagonal_calibrated"), which cleanlab documents as
# the cut-off to use with its rank functions), keeping only rows whose most likely class is not the
# given one. The flags are then exactly the head of the ranked queue. Chosen on the demo's known
# flips (bench/label_issues.py, default 224-px scan, three fold seeds): precision 0.85-0.92 and
# recall 0.87-0.95, against 0.82-0.90 / 0.71-0.77 for "both", whose per-class count pruning
# stopped short of the real number of flips once the scan model was accurate.
RANKED_CALIBRATED = "ranked_calibrated"
FILTERS = (
    RANKED_CALIBRATED,
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
)
DEFAULT_FILTER_BY = RANKED_CALIBRATED
# normalized_margin (given-class probability minus the best other one) put slightly more true flips
# in the first k than self_confidence on the demo (precision@93 0.87-0.92 vs 0.85-0.90).
DEFAULT_SCORE_METHOD = "normalized_margin"
CACHE_FORMAT = 2  # bump when the cached tables change shape or meaning


# --------------------------------------------------------------------------------------- validation


def _check_labels_and_probs(labels, pred_probs) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {labels.shape}")
    if pred_probs.ndim != 2:
        raise ValueError(f"pred_probs must be 2-D (N, K), got shape {pred_probs.shape}")
    if len(labels) != len(pred_probs):
        raise ValueError(f"labels has {len(labels)} rows but pred_probs has {len(pred_probs)}")
    if len(labels) == 0:
        raise ValueError("labels is empty: there is nothing to check")
    num_classes = pred_probs.shape[1]
    if num_classes < 2:
        raise ValueError(f"pred_probs needs at least 2 classes (columns), got {num_classes}")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating) or not np.all(np.mod(labels, 1) == 0):
            raise ValueError(f"labels must be class indices 0..{num_classes - 1}, got dtype {labels.dtype}")
        labels = labels.astype(np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        raise ValueError(
            f"labels must be class indices 0..{num_classes - 1}; rows {bad[:5].tolist()} hold "
            f"{labels[bad[:5]].tolist()}"
        )
    if not np.all(np.isfinite(pred_probs)):
        rows = np.flatnonzero(~np.isfinite(pred_probs).all(axis=1))
        raise ValueError(f"pred_probs has NaN or infinite values in rows {rows[:5].tolist()}")
    if (pred_probs < 0).any():
        rows = np.flatnonzero((pred_probs < 0).any(axis=1))
        raise ValueError(f"pred_probs has negative values in rows {rows[:5].tolist()}")
    sums = pred_probs.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > 1e-3)
    if len(off):
        raise ValueError(
            f"pred_probs rows must sum to 1; rows {off[:5].tolist()} sum to {np.round(sums[off[:5]], 4).tolist()}"
        )
    return labels.astype(np.int64), pred_probs


def _check_ids(ids, n: int, *, name: str = "ids") -> list[str]:
    if ids is None:
        return [str(i) for i in range(n)]
    ids = [str(i) for i in ids]
    if len(ids) != n:
        raise ValueError(f"{name} has {len(ids)} entries but there are {n} rows")
    seen: set[str] = set()
    duplicated = [i for i in ids if i in seen or seen.add(i)]
    if duplicated:
        raise ValueError(f"{name} must be unique; repeated: {', '.join(duplicated[:5])}")
    return ids


def _check_embeddings(embeddings, n: int | None, *, name: str) -> np.ndarray:
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D), got shape {embeddings.shape}")
    if n is not None and len(embeddings) != n:
        raise ValueError(f"{name} has {len(embeddings)} rows but labels has {n}")
    if not np.all(np.isfinite(embeddings)):
        rows = np.flatnonzero(~np.isfinite(embeddings).all(axis=1))
        raise ValueError(f"{name} has NaN or infinite values in rows {rows[:5].tolist()}")
    return embeddings


# --------------------------------------------------------------------------------------- label issues


def label_issues(
    labels,
    pred_probs,
    *,
    ids: Sequence[str] | None = None,
    filter_by: str = DEFAULT_FILTER_BY,
    score_method: str = DEFAULT_SCORE_METHOD,
    with_probs: bool = False,
) -> pd.DataFrame:
    """Every example ranked by cleanlab's label quality score, worst (lowest) first.

    labels: (N,) given class indices 0..K-1; pred_probs: (N, K) out-of-fold probabilities, rows
    summing to 1; ids: N unique names (default "0".."N-1").

    Returns one row per example with columns ID, given_label, suggested_label (the most likely
    class), label_score (cleanlab.rank.get_label_quality_scores with `score_method`, 0..1, low =
    likely wrong), is_label_issue (`filter_by`: see FILTERS above), and prob_0..prob_{K-1} when
    `with_probs`. Ties in the score keep the input order.
    """
    labels, pred_probs = _check_labels_and_probs(labels, pred_probs)
    ids = _check_ids(ids, len(labels))
    if filter_by not in FILTERS:
        raise ValueError(f"filter_by must be one of {', '.join(FILTERS)}, got {filter_by!r}")
    from cleanlab.rank import get_label_quality_scores

    scores = get_label_quality_scores(labels, pred_probs, method=score_method)
    flagged = _find_label_issues(labels, pred_probs, scores, filter_by=filter_by)
    frame = pd.DataFrame(
        {
            "ID": ids,
            "given_label": labels,
            "suggested_label": pred_probs.argmax(axis=1).astype(np.int64),
            "label_score": scores.astype(np.float64),
            "is_label_issue": flagged.astype(bool),
        }
    )
    if with_probs:
        probs = pd.DataFrame(pred_probs.astype(np.float32), columns=prob_columns(pred_probs.shape[1]))
        frame = pd.concat([frame, probs], axis=1)
    order = np.argsort(frame["label_score"].to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def _find_label_issues(labels: np.ndarray, pred_probs: np.ndarray, scores: np.ndarray, *, filter_by: str) -> np.ndarray:
    """(N,) bool: the label issues by `filter_by`, tolerating classes that no example carries.

    Confident learning needs every class 0..K-1 present in `labels`; a class absent from train
    (it occurs in the probabilities' columns only) is dropped from the columns first, renormalised.
    `scores` (the label quality scores, low = likely wrong) order RANKED_CALIBRATED's flags.
    """
    present = np.unique(labels)
    num_classes = pred_probs.shape[1]
    if len(present) < 2:
        return np.zeros(len(labels), dtype=bool)  # one class: nothing can be mislabeled between classes
    sub_labels, sub_probs = labels, pred_probs
    if len(present) < num_classes:
        remap = np.full(num_classes, -1)
        remap[present] = np.arange(len(present))
        sub_labels = remap[labels]
        sub_probs = pred_probs[:, present]
        sub_probs = sub_probs / np.clip(sub_probs.sum(axis=1, keepdims=True), 1e-12, None)
    if filter_by == RANKED_CALIBRATED:
        from cleanlab.count import num_label_issues

        count = int(num_label_issues(sub_labels, sub_probs, estimation_method="off_diagonal_calibrated"))
        flagged = np.zeros(len(labels), dtype=bool)
        flagged[np.argsort(scores, kind="stable")[:count]] = True
        return flagged & (pred_probs.argmax(axis=1) != labels)
    from cleanlab.filter import find_label_issues

    # n_jobs=1: cleanlab's multiprocessing pool costs more than it saves at K <= ~100 (measured).
    return find_label_issues(sub_labels, sub_probs, filter_by=filter_by, n_jobs=1)


# --------------------------------------------------------------------------------------- data issues


@dataclass
class DataIssues:
    """Datalab's findings on the embeddings.

    table: one row per train example: ID, is_outlier_issue, outlier_score, is_near_duplicate_issue,
    near_duplicate_score, near_duplicate_group (-1 when none), is_leakage_issue, leakage_group (-1),
    is_class_imbalance_issue, class_imbalance_score (scores 0..1, low = worse).
    groups: one row per member of a near-duplicate group: kind ("near_duplicate" within train or
    "leakage" between train and test), group, ID, split ("train" / "test"), distance (to the
    group's nearest other member, cosine or euclidean as Datalab chose).
    """

    table: pd.DataFrame
    groups: pd.DataFrame
    notes: list[str] = field(default_factory=list)


GROUP_COLUMNS = ["kind", "group", "ID", "split", "distance"]


def data_issues(
    embeddings,
    labels,
    *,
    ids: Sequence[str] | None = None,
    test_embeddings=None,
    test_ids: Sequence[str] | None = None,
    pred_probs=None,
) -> DataIssues:
    """Outliers, near duplicates, train/test leakage and class imbalance, by cleanlab's Datalab.

    embeddings: (N, D) train features; labels: (N,) class indices; test_embeddings: (M, D) test
    features, for leakage (near duplicates with one member in train and one in test). Datalab runs
    once on train with labels (outlier, near_duplicate, class_imbalance) and once on train+test
    without labels (near_duplicate only). `pred_probs` (N, K) is passed on to Datalab when given.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {labels.shape}")
    embeddings = _check_embeddings(embeddings, len(labels), name="embeddings")
    ids = _check_ids(ids, len(labels))
    if len(labels) < 3:
        raise ValueError(f"data_issues needs at least 3 train examples, got {len(labels)}")
    if test_embeddings is not None:
        test_embeddings = _check_embeddings(test_embeddings, None, name="test_embeddings")
        if test_embeddings.shape[1] != embeddings.shape[1]:
            raise ValueError(
                f"test_embeddings have {test_embeddings.shape[1]} dimensions but embeddings have {embeddings.shape[1]}"
            )
        test_ids = _check_ids(test_ids, len(test_embeddings), name="test_ids")
    from cleanlab import Datalab

    n = len(labels)
    issue_types = {"outlier": {}, "near_duplicate": {}, "class_imbalance": {}}
    lab = Datalab({"label": labels.astype(np.int64)}, label_name="label", verbosity=0)
    kwargs = {"features": embeddings, "issue_types": issue_types}
    if pred_probs is not None:
        _, pred_probs = _check_labels_and_probs(labels, pred_probs)
        kwargs["pred_probs"] = pred_probs
    lab.find_issues(**kwargs)
    issues = lab.get_issues()
    table = pd.DataFrame({"ID": ids})
    for kind in ("outlier", "near_duplicate", "class_imbalance"):
        flag, score = f"is_{kind}_issue", f"{kind}_score"
        table[flag] = issues[flag].to_numpy().astype(bool) if flag in issues else False
        table[score] = issues[score].to_numpy().astype(np.float64) if score in issues else 1.0

    group_rows: list[dict] = []
    near = lab.get_issues("near_duplicate")
    sets = near["near_duplicate_sets"].tolist() if "near_duplicate_sets" in near else [[] for _ in range(n)]
    distance = near["distance_to_nearest_neighbor"].to_numpy() if "distance_to_nearest_neighbor" in near else None
    components = _components(sets, n)
    table["near_duplicate_group"] = components
    for i in np.flatnonzero(components >= 0):
        group_rows.append(
            {
                "kind": "near_duplicate",
                "group": int(components[i]),
                "ID": ids[i],
                "split": "train",
                "distance": float(distance[i]) if distance is not None else np.nan,
            }
        )
    table["is_leakage_issue"] = False
    table["leakage_group"] = -1
    if test_embeddings is not None and len(test_embeddings):
        both = np.concatenate([embeddings, test_embeddings])
        lab_all = Datalab({"row": np.arange(len(both))}, verbosity=0)
        lab_all.find_issues(features=both, issue_types={"near_duplicate": {}})
        near_all = lab_all.get_issues("near_duplicate")
        all_sets = near_all["near_duplicate_sets"].tolist()
        all_distance = near_all["distance_to_nearest_neighbor"].to_numpy()
        # Keep only train-test links: a leakage group is train images with the test images they copy.
        crossing = [[j for j in s if (i < n) != (j < n)] for i, s in enumerate(all_sets)]
        leak = _components(crossing, len(both))
        table["leakage_group"] = leak[:n]
        table["is_leakage_issue"] = leak[:n] >= 0
        all_ids = list(ids) + list(test_ids)
        for i in np.flatnonzero(leak >= 0):
            group_rows.append(
                {
                    "kind": "leakage",
                    "group": int(leak[i]),
                    "ID": all_ids[i],
                    "split": "train" if i < n else "test",
                    "distance": float(all_distance[i]),
                }
            )
    groups = pd.DataFrame(group_rows, columns=GROUP_COLUMNS)
    groups = groups.sort_values(["kind", "group", "split", "distance"], ascending=[True, True, False, True])
    return DataIssues(table=table, groups=groups.reset_index(drop=True))


def _components(sets: Sequence[Sequence[int]], n: int) -> np.ndarray:
    """Group number (0, 1, ...) of every row linked to another by `sets`; -1 for rows linked to none.

    Near-duplicate sets are pairwise (i lists j); groups are their connected components, numbered
    by their first member so the numbering is stable.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows = [i for i, members in enumerate(sets) for _ in members]
    cols = [int(j) for members in sets for j in members]
    result = np.full(n, -1, dtype=np.int64)
    if not rows:
        return result
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    _, component = connected_components(graph, directed=False)
    linked = np.zeros(n, dtype=bool)
    linked[rows] = True
    linked[cols] = True
    numbering: dict[int, int] = {}
    for i in np.flatnonzero(linked):
        result[i] = numbering.setdefault(int(component[i]), len(numbering))
    return result


# --------------------------------------------------------------------------------------- runs


def run_pred_probs(run_dirs: Sequence[Path]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(ids, labels (N,), pred_probs (N, K)) from runs' oof.csv; several runs are averaged.

    With several runs, only the IDs every run scored are kept, in the first run's order; their given
    labels must agree (runs trained on different label versions disagree about what is "given").
    """
    if not run_dirs:
        raise ValueError("run_pred_probs needs at least one run folder")
    frames = []
    for run_dir in run_dirs:
        path = Path(run_dir) / OOF
        if not path.is_file():
            raise ValueError(f"run {Path(run_dir).name} has no {OOF} (it has not finished, or failed)")
        frame = pd.read_csv(path, dtype={"ID": str})
        probs = [c for c in frame.columns if c.startswith("prob_")]
        if not probs or "given" not in frame:
            raise ValueError(f"{path}: expected columns ID, given, prob_0..; found {', '.join(frame.columns)}")
        frames.append(frame.set_index("ID"))
    first = frames[0]
    num_classes = sum(c.startswith("prob_") for c in first.columns)
    columns = prob_columns(num_classes)
    shared = first.index
    for run_dir, frame in zip(run_dirs[1:], frames[1:]):
        if sum(c.startswith("prob_") for c in frame.columns) != num_classes:
            raise ValueError(
                f"run {Path(run_dir).name} has a different number of classes than {Path(run_dirs[0]).name}"
            )
        shared = shared[shared.isin(frame.index)]
    if len(shared) == 0:
        raise ValueError("the runs share no train IDs")
    labels = first.loc[shared, "given"].to_numpy().astype(np.int64)
    total = first.loc[shared, columns].to_numpy(dtype=np.float64)
    for run_dir, frame in zip(run_dirs[1:], frames[1:]):
        given = frame.loc[shared, "given"].to_numpy()
        differ = np.flatnonzero(given != labels)
        if len(differ):
            examples = ", ".join(f"{shared[i]} ({labels[i]} vs {given[i]})" for i in differ[:3])
            raise ValueError(
                f"runs {Path(run_dirs[0]).name} and {Path(run_dir).name} were trained on different labels "
                f"for {len(differ)} image(s), e.g. {examples}; average runs of one label version"
            )
        total += frame.loc[shared, columns].to_numpy(dtype=np.float64)
    probs = total / len(frames)
    probs /= probs.sum(axis=1, keepdims=True)  # CSV rounding leaves rows a hair off 1
    return [str(i) for i in shared], labels, probs


def run_embeddings(run_dir: Path) -> tuple[pd.DataFrame, np.ndarray] | None:
    """(ID, split) rows and their (N, D) embeddings of a run, or None when it wrote none."""
    run_dir = Path(run_dir)
    if not (run_dir / EMBEDDINGS).is_file() or not (run_dir / EMBEDDING_IDS).is_file():
        return None
    ids = pd.read_csv(run_dir / EMBEDDING_IDS, dtype={"ID": str, "split": str})
    return ids, np.load(run_dir / EMBEDDINGS, mmap_mode="r")


@dataclass
class RunIssues:
    """Both issue tables of one run (or an average of runs), as cached.

    labels: ranked label issues (ISSUE_COLUMNS + prob_*), lowest label_score first.
    data: DataIssues of the first run's embeddings, or None (no embeddings, or Datalab missing;
    `notes` says which). key: the cache key; seconds: how long computing took (0 when read back).
    """

    run_ids: tuple[str, ...]
    labels: pd.DataFrame
    data: DataIssues | None
    key: str
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return sum(c.startswith("prob_") for c in self.labels.columns)

    def queue(self) -> pd.DataFrame:
        """Every train row with a flag of any kind: the label table joined with the data flags.

        Columns: ISSUE_COLUMNS, prob_*, is_<kind>_issue for every kind of KINDS, kinds (the names
        of the kinds that flag the row, comma-separated); ordered worst label score first.
        """
        frame = self.labels.copy()
        for kind in KINDS[1:]:
            frame[f"is_{kind}_issue"] = False
        if self.data is not None:
            flags = self.data.table.set_index("ID")
            for kind in KINDS[1:]:
                column = f"is_{kind}_issue"
                frame[column] = flags[column].reindex(frame["ID"]).fillna(False).astype(bool).to_numpy()
        flag_columns = [f"is_{kind}_issue" for kind in KINDS]
        any_flag = frame[flag_columns].any(axis=1)
        frame = frame.loc[any_flag].reset_index(drop=True)
        matrix = frame[flag_columns].to_numpy()
        frame["kinds"] = [",".join(k for k, on in zip(KINDS, row) if on) for row in matrix]
        return frame


def cache_key(layout: ProjectLayout, run_ids: Sequence[str], *, filter_by: str, score_method: str, data: bool) -> str:
    """Changes when a run's artifacts, cleanlab, or the options change."""
    from importlib.metadata import version  # not `import cleanlab`: pages read the cache without loading it

    parts: list[str] = [str(CACHE_FORMAT), version("cleanlab"), filter_by, score_method, str(data)]
    for run_id in run_ids:
        run_dir = layout.runs_dir / run_id
        parts.append(run_id)
        for name in (OOF, EMBEDDINGS, EMBEDDING_IDS):
            try:
                stat = (run_dir / name).stat()
                parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
            except OSError:
                parts.append(f"{name}:-")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:20]


def issues_cache_dir(layout: ProjectLayout) -> Path:
    return layout.cache_dir / "issues"


def issues_cached(
    layout: ProjectLayout,
    run_ids: Sequence[str],
    *,
    data: bool = True,
    filter_by: str = DEFAULT_FILTER_BY,
    score_method: str = DEFAULT_SCORE_METHOD,
) -> bool:
    """Whether `issues_for_runs` with these arguments would read its result back instead of computing."""
    run_ids = tuple(dict.fromkeys(run_ids))
    key = cache_key(layout, run_ids, filter_by=filter_by, score_method=score_method, data=data)
    return (issues_cache_dir(layout) / key / "meta.json").is_file()


def issues_for_runs(
    layout: ProjectLayout,
    run_ids: Sequence[str],
    *,
    data: bool = True,
    filter_by: str = DEFAULT_FILTER_BY,
    score_method: str = DEFAULT_SCORE_METHOD,
    progress: Callable[[str], None] | None = None,
    refresh: bool = False,
) -> RunIssues:
    """The issues of `run_ids` (their probabilities averaged; embeddings of the first), cached.

    Read back from `.workbench/cache/issues/<key>/` when computed before; otherwise computed with
    `label_issues` and (data=True) `data_issues`, then stored (parquet, written atomically) so the
    page, the CLI and every teammate's session read the same tables.
    """
    run_ids = tuple(dict.fromkeys(run_ids))
    if not run_ids:
        raise ValueError("run_ids is empty: name at least one run")
    for run_id in run_ids:
        if not (layout.runs_dir / run_id).is_dir():
            raise ValueError(f"no run {run_id!r} in {layout.runs_dir}")
    key = cache_key(layout, run_ids, filter_by=filter_by, score_method=score_method, data=data)
    folder = issues_cache_dir(layout) / key
    if not refresh:
        cached = _read_cached(folder, run_ids, key)
        if cached is not None:
            return cached
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    say("Scoring labels with cleanlab")
    ids, labels, probs = run_pred_probs([layout.runs_dir / r for r in run_ids])
    table = label_issues(labels, probs, ids=ids, filter_by=filter_by, score_method=score_method, with_probs=True)
    notes: list[str] = []
    found: DataIssues | None = None
    if data:
        say("Looking for outliers, near duplicates and leakage with Datalab")
        found, note = _data_issues_of_run(layout.runs_dir / run_ids[0], ids, labels, probs)
        if note:
            notes.append(note)
    result = RunIssues(
        run_ids=run_ids, labels=table, data=found, key=key, seconds=time.perf_counter() - started, notes=notes
    )
    _write_cached(folder, result)
    return result


def _data_issues_of_run(
    run_dir: Path, ids: list[str], labels: np.ndarray, probs: np.ndarray
) -> tuple[DataIssues | None, str]:
    loaded = run_embeddings(run_dir)
    if loaded is None:
        return None, f"run {run_dir.name} wrote no embeddings: outliers, duplicates and leakage need them"
    rows, vectors = loaded
    train_rows = rows.loc[rows["split"] == "train"]
    position = dict(zip(train_rows["ID"], train_rows.index))
    keep = [i for i, name in enumerate(ids) if name in position]
    if len(keep) < 3:
        return None, f"run {run_dir.name}: too few train embeddings ({len(keep)}) for Datalab"
    test_rows = rows.loc[rows["split"] == "test"]
    try:
        found = data_issues(
            np.asarray(vectors[[position[ids[i]] for i in keep]]),
            labels[keep],
            ids=[ids[i] for i in keep],
            test_embeddings=np.asarray(vectors[test_rows.index.to_numpy()]) if len(test_rows) else None,
            test_ids=test_rows["ID"].tolist() if len(test_rows) else None,
        )
    except ImportError as exc:
        return None, f"Datalab is not available ({exc}); install it with `pip install 'cleanlab[datalab]'`"
    return found, ""


def _write_cached(folder: Path, result: RunIssues) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write_parquet(result.labels, folder / "labels.parquet")
    if result.data is not None:
        _write_parquet(result.data.table, folder / "data.parquet")
        _write_parquet(result.data.groups, folder / "groups.parquet")
    meta = {"run_ids": list(result.run_ids), "seconds": result.seconds, "notes": result.notes, "key": result.key}
    tmp = folder / f".meta.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, folder / "meta.json")  # written last: its presence means the folder is complete


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _read_cached(folder: Path, run_ids: tuple[str, ...], key: str) -> RunIssues | None:
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        labels = pd.read_parquet(folder / "labels.parquet")
        data = None
        if (folder / "data.parquet").is_file():
            data = DataIssues(
                table=pd.read_parquet(folder / "data.parquet"), groups=pd.read_parquet(folder / "groups.parquet")
            )
    except (OSError, ValueError):
        return None  # a damaged cache is recomputed
    return RunIssues(run_ids=run_ids, labels=labels, data=data, key=key, notes=list(meta.get("notes", [])))


def review_columns(layout: ProjectLayout, run_id: str) -> pd.DataFrame | None:
    """Columns the analysis pages join onto a run's predictions: split, ID, is_label_issue,
    label_score (from this run's cached label issues, if the Issues page or `workbench issues`
    computed them) and review (the image's current decision: keep / relabel / drop / unreviewed).

    Reads only: nothing is computed here. None when there is neither a cached result nor a decision.
    """
    from core.decisions import current_decisions

    frame = None
    for data in (True, False):
        key = cache_key(layout, (run_id,), filter_by=DEFAULT_FILTER_BY, score_method=DEFAULT_SCORE_METHOD, data=data)
        cached = _read_cached(issues_cache_dir(layout) / key, (run_id,), key)
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
    """A run's prediction table (core.analysis) with `review_columns` joined on; unchanged without any."""
    from core.analysis import attach_columns

    extra = review_columns(layout, run_id)
    if extra is None:
        return table
    joined = attach_columns(table, extra)
    train = joined["split"] == "train"
    joined.loc[train, "review"] = joined.loc[train, "review"].fillna("unreviewed")
    return joined


def ranked_issues_csv(result: RunIssues) -> pd.DataFrame:
    """The table `workbench issues` writes (DESIGN.md): ISSUE_COLUMNS, lowest label_score first."""
    return result.labels[ISSUE_COLUMNS].copy()


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

    queue: RunIssues.queue(); decided_ids: IDs with a current decision (left out); given /
    suggested: keep only these classes (None or empty: all); kinds: keep rows flagged by any of
    these issue kinds (None or empty: all); skipped: IDs the reviewer put off, moved to the end.
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
