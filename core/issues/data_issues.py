"""Data issues with cleanlab's Datalab on a run's embeddings: outliers, near duplicates, train/test leakage, class imbalance.

data_issues(embeddings, labels, *, ids, test_embeddings, test_ids) -> DataIssues

Up to EXACT_ROWS rows Datalab searches the neighbours itself, exactly (brute force over every pair).
Beyond, it is handed a k-nearest-neighbour graph found approximately (core.embeddings.neighbours.
approximate_neighbours: pynndescent on a 128-d projection) with exact cosine distances, which at
140,000 x 1,752 takes seconds where the exact search takes over ten minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.embeddings.neighbours import approximate_neighbours, projected_rows
from core.issues.label_issues import check_ids, check_labels_and_probs

EXACT_ROWS = 20_000  # beyond this many rows, Datalab gets an approximate neighbour graph
NEIGHBOURS = 10  # neighbours per row in that graph: Datalab's k for outliers and near duplicates


def _knn_graph(unit: np.ndarray, *sources: np.ndarray):
    """Datalab's `knn_graph`: a sparse (N, N) matrix holding each row's NEIGHBOURS nearest rows, found
    in the projected unit rows `unit`, with their cosine distances measured on `sources` (the embeddings
    they were projected from, stacked), nearest first."""
    from scipy.sparse import csr_matrix

    n = len(unit)
    indices, distances = approximate_neighbours(unit, k=NEIGHBOURS, sources=sources)
    indptr = np.arange(0, n * NEIGHBOURS + 1, NEIGHBOURS)
    return csr_matrix((distances.reshape(-1), indices.reshape(-1), indptr), shape=(n, n))


def _check_embeddings(embeddings, n: int | None, *, name: str) -> np.ndarray:
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D), got shape {embeddings.shape}")
    if n is not None and len(embeddings) != n:
        raise ValueError(f"{name} has {len(embeddings)} rows but labels has {n}")
    for start in range(0, len(embeddings), 8192):  # in blocks: a memory map is never held whole
        block = embeddings[start : start + 8192]
        if not np.all(np.isfinite(block)):
            rows = start + np.flatnonzero(~np.isfinite(block).all(axis=1))
            raise ValueError(f"{name} has NaN or infinite values in rows {rows[:5].tolist()}")
    return embeddings


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
    exact_rows: int = EXACT_ROWS,
) -> DataIssues:
    """Outliers, near duplicates, train/test leakage and class imbalance, by cleanlab's Datalab.

    embeddings: (N, D) train features; labels: (N,) class indices; test_embeddings: (M, D) test
    features, for leakage (near duplicates with one member in train and one in test). Datalab runs
    once on train with labels (outlier, near_duplicate, class_imbalance) and once on train+test
    without labels (near_duplicate only). `pred_probs` (N, K) is passed on to Datalab when given.
    Each of those two searches its neighbours exactly up to `exact_rows` rows, approximately beyond.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {labels.shape}")
    embeddings = _check_embeddings(embeddings, len(labels), name="embeddings")
    ids = check_ids(ids, len(labels))
    if len(labels) < 3:
        raise ValueError(f"data_issues needs at least 3 train examples, got {len(labels)}")
    if test_embeddings is not None:
        test_embeddings = _check_embeddings(test_embeddings, None, name="test_embeddings")
        if test_embeddings.shape[1] != embeddings.shape[1]:
            raise ValueError(
                f"test_embeddings have {test_embeddings.shape[1]} dimensions but embeddings have {embeddings.shape[1]}"
            )
        test_ids = check_ids(test_ids, len(test_embeddings), name="test_ids")
    if pred_probs is not None:
        _, pred_probs = check_labels_and_probs(labels, pred_probs)

    test_rows = 0 if test_embeddings is None else len(test_embeddings)
    # Large: one projection of train and test (128-d unit rows) for both neighbour graphs.
    projected = (
        projected_rows(embeddings, *([test_embeddings] if test_rows else []))
        if len(labels) + test_rows > exact_rows
        else None
    )
    train_graph = _knn_graph(projected[0], embeddings) if projected is not None and len(labels) > exact_rows else None
    table, group_rows = _train_issues(embeddings, labels, ids=ids, pred_probs=pred_probs, graph=train_graph)
    table["is_leakage_issue"] = False
    table["leakage_group"] = -1
    if test_embeddings is not None and len(test_embeddings):
        graph = _knn_graph(np.concatenate(projected), embeddings, test_embeddings) if projected is not None else None
        leak, leak_rows = _leakage(embeddings, test_embeddings, ids=ids, test_ids=test_ids, graph=graph)
        table["leakage_group"] = leak
        table["is_leakage_issue"] = leak >= 0
        group_rows += leak_rows
    groups = pd.DataFrame(group_rows, columns=GROUP_COLUMNS)
    groups = groups.sort_values(["kind", "group", "split", "distance"], ascending=[True, True, False, True])
    return DataIssues(table=table, groups=groups.reset_index(drop=True))


def _train_issues(
    embeddings: np.ndarray, labels: np.ndarray, *, ids: list[str], pred_probs: np.ndarray | None, graph
) -> tuple[pd.DataFrame, list[dict]]:
    """Datalab on the train rows with their labels: the per-example table (without leakage columns)
    and one group row per member of a near-duplicate group. `graph`: their neighbour graph (None:
    Datalab searches the embeddings exactly)."""
    from cleanlab import Datalab

    n = len(labels)
    issue_types = {"outlier": {}, "near_duplicate": {}, "class_imbalance": {}}
    lab = Datalab({"label": labels.astype(np.int64)}, label_name="label", verbosity=0)
    kwargs = {"issue_types": issue_types, **({"features": embeddings} if graph is None else {"knn_graph": graph})}
    if pred_probs is not None:
        kwargs["pred_probs"] = pred_probs
    lab.find_issues(**kwargs)
    issues = lab.get_issues()
    table = pd.DataFrame({"ID": ids})
    for kind in ("outlier", "near_duplicate", "class_imbalance"):
        flag, score = f"is_{kind}_issue", f"{kind}_score"
        table[flag] = issues[flag].to_numpy().astype(bool) if flag in issues else False
        table[score] = issues[score].to_numpy().astype(np.float64) if score in issues else 1.0

    near = lab.get_issues("near_duplicate")
    sets = near["near_duplicate_sets"].tolist() if "near_duplicate_sets" in near else [[] for _ in range(n)]
    distance = near["distance_to_nearest_neighbor"].to_numpy() if "distance_to_nearest_neighbor" in near else None
    components = _components(sets, n)
    table["near_duplicate_group"] = components
    group_rows = [
        {
            "kind": "near_duplicate",
            "group": int(components[i]),
            "ID": ids[i],
            "split": "train",
            "distance": float(distance[i]) if distance is not None else np.nan,
        }
        for i in np.flatnonzero(components >= 0)
    ]
    return table, group_rows


def _leakage(
    embeddings: np.ndarray, test_embeddings: np.ndarray, *, ids: list[str], test_ids: list[str], graph
) -> tuple[np.ndarray, list[dict]]:
    """(N,) the leakage group of each train row (-1: none), and one group row per member (train or test).

    Datalab's near duplicates over train + test together, keeping only the train-test links. `graph`:
    the neighbour graph of train then test rows (None: Datalab searches the embeddings exactly).
    """
    from cleanlab import Datalab

    n, total = len(embeddings), len(embeddings) + len(test_embeddings)
    lab_all = Datalab({"row": np.arange(total)}, verbosity=0)
    found = {"features": np.concatenate([embeddings, test_embeddings])} if graph is None else {"knn_graph": graph}
    lab_all.find_issues(**found, issue_types={"near_duplicate": {}})
    near_all = lab_all.get_issues("near_duplicate")
    all_sets = near_all["near_duplicate_sets"].tolist()
    all_distance = near_all["distance_to_nearest_neighbor"].to_numpy()
    # Keep only train-test links: a leakage group is train images with the test images they copy.
    crossing = [[j for j in s if (i < n) != (j < n)] for i, s in enumerate(all_sets)]
    leak = _components(crossing, total)
    all_ids = list(ids) + list(test_ids)
    group_rows = [
        {
            "kind": "leakage",
            "group": int(leak[i]),
            "ID": all_ids[i],
            "split": "train" if i < n else "test",
            "distance": float(all_distance[i]),
        }
        for i in np.flatnonzero(leak >= 0)
    ]
    return leak[:n], group_rows


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
