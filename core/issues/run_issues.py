"""The issues of one run (or several runs' probabilities averaged), computed once and cached.

run_pred_probs(run_dirs)            one run's oof.csv, or several runs' probabilities averaged
issues_for_runs(layout, run_ids)    label issues + data issues, kept under
                                    .workbench/cache/issues/<key>/ (key: runs, file mtimes,
                                    cleanlab version, options)
ranked_issues_csv(result)           what `workbench issues` writes
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.io.atomic import atomic_write, write_json_atomic
from core.issues.data_issues import DataIssues, data_issues
from core.issues.label_issues import DEFAULT_FILTER_BY, DEFAULT_SCORE_METHOD, ISSUE_COLUMNS, label_issues
from core.project.layout import ProjectLayout
from core.runs.artifacts import load_embeddings, load_oof
from core.runs.folder import EMBEDDING_IDS, EMBEDDINGS, OOF, prob_columns, read_status
from core.runs.progress import Callbacks

# Issue kinds of the review queue, in the order the page offers them.
KINDS = ("label", "outlier", "near_duplicate", "leakage", "class_imbalance")


KIND_TITLES = {
    "label": "Label issues",
    "outlier": "Outliers",
    "near_duplicate": "Near duplicates",
    "leakage": "Train/test leakage",
    "class_imbalance": "Class imbalance",
}


CACHE_FORMAT = 3  # bump when the cached tables change shape or meaning


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
        # core.runs.artifacts.RunDamaged (a ValueError) when oof.csv is cut short or garbled
        frame = load_oof(Path(run_dir), read_status(run_dir))
        if frame is None:
            raise ValueError(f"run {Path(run_dir).name} has no {OOF} (it has not finished, or failed)")
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
    """(ID, split) rows and their (N, D) embeddings of a run, or None when it wrote none.

    core.runs.artifacts.RunDamaged (a ValueError) when they cannot be loaded or do not match row for row.
    """
    return load_embeddings(Path(run_dir))


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
    callbacks: Callbacks | None = None,
    refresh: bool = False,
) -> RunIssues:
    """The issues of `run_ids` (their probabilities averaged; embeddings of the first), cached.

    Read back from `.workbench/cache/issues/<key>/` when computed before; otherwise computed with
    `label_issues` and (data=True) `data_issues`, then stored (parquet, written atomically) so the
    page, the CLI and every teammate's session read the same tables. Each stage is announced to
    `callbacks.on_progress` (a stage message, no step counts).
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
        cached = read_cached(folder, run_ids, key)
        if cached is not None:
            return cached
    callbacks = callbacks or Callbacks()
    started = time.perf_counter()
    callbacks.on_progress(progress=0.0, message="Scoring labels with cleanlab")
    ids, labels, probs = run_pred_probs([layout.runs_dir / r for r in run_ids])
    table = label_issues(labels, probs, ids=ids, filter_by=filter_by, score_method=score_method, with_probs=True)
    notes: list[str] = []
    found: DataIssues | None = None
    if data:
        callbacks.on_progress(progress=0.5, message="Looking for outliers, near duplicates and leakage with Datalab")
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
    keep = np.array([i for i, name in enumerate(ids) if name in position], dtype=np.int64)
    if len(keep) < 3:
        return None, f"run {run_dir.name}: too few train embeddings ({len(keep)}) for Datalab"
    # In the order of the stored rows (the tables are keyed by ID): usually a slice of the memory map, not a copy.
    at = np.array([position[ids[i]] for i in keep], dtype=np.int64)
    order = np.argsort(at, kind="stable")
    keep, at = keep[order], at[order]
    test_rows = rows.loc[rows["split"] == "test"]
    try:
        found = data_issues(
            _stored_rows(vectors, at),
            labels[keep],
            ids=[ids[i] for i in keep],
            test_embeddings=_stored_rows(vectors, test_rows.index.to_numpy()) if len(test_rows) else None,
            test_ids=test_rows["ID"].tolist() if len(test_rows) else None,
        )
    except ImportError as exc:
        return None, f"Datalab is not available ({exc}); install it with `pip install 'cleanlab[datalab]'`"
    return found, ""


def _stored_rows(vectors: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Rows `at` of the (memory-mapped) embeddings: a view when they are consecutive, else a copy."""
    if len(at) and at[-1] - at[0] + 1 == len(at) and np.all(np.diff(at) == 1):
        return vectors[at[0] : at[-1] + 1]
    return np.asarray(vectors[at])


def _write_cached(folder: Path, result: RunIssues) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write_parquet(result.labels, folder / "labels.parquet")
    if result.data is not None:
        _write_parquet(result.data.table, folder / "data.parquet")
        _write_parquet(result.data.groups, folder / "groups.parquet")
    meta = {"run_ids": list(result.run_ids), "seconds": result.seconds, "notes": result.notes, "key": result.key}
    # Written last: its presence means the folder is complete.
    write_json_atomic(folder / "meta.json", meta, indent=None)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    with atomic_write(path, "wb") as handle:
        frame.to_parquet(handle, index=False)


def read_cached(folder: Path, run_ids: tuple[str, ...], key: str) -> RunIssues | None:
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


def ranked_issues_csv(result: RunIssues) -> pd.DataFrame:
    """The table `workbench issues` writes (DESIGN.md): ISSUE_COLUMNS, lowest label_score first."""
    return result.labels[ISSUE_COLUMNS].copy()
