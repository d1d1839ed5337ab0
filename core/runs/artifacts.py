"""A run's artifacts read for analysis, checked: a file cut short, garbled, or not matching what the run
says it wrote raises RunDamaged instead of being analysed partially in silence.

    RunDamaged                          the typed error (a ValueError): run, file and what is wrong
    load_oof(run_dir, status)           oof.csv: ID, fold, given, predicted, prob_*; every row whole
    load_test_probs(run_dir, status)    test_probs.csv: ID, prob_*; every row whole
    load_embeddings(run_dir)            (embeddings_ids.csv, embeddings.npy (N, D)) matching row for row
    expected_rows(run_dir, status, name)   rows the run says `name` holds (None: it does not say)

Each returns None where the file is missing (a run cancelled before its first fold wrote none). The row
counts come from status.json: `oof_rows` / `test_probs_rows` (written by the job when it succeeds), or
for older runs `train_rows` / `test_rows` where every row is scored (k >= 2 folds, no expansion copies).
A file cut at a line boundary parses, so only that count tells it from a whole one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.io.csvfile import CsvError, read_csv
from core.io.text import shown
from core.runs.folder import CONFIG, EMBEDDING_IDS, EMBEDDINGS, OOF, TEST_PROBS


class RunDamaged(ValueError):
    """A run's file cannot be analysed; the message names the run, the file and what is wrong."""


def _damaged(run_dir: Path, name: str, what: str) -> RunDamaged:
    return RunDamaged(f"run {shown(Path(run_dir).name, 60)}: {name} is damaged: {what}")


def expected_rows(run_dir: str | Path, status: dict[str, Any], name: str) -> int | None:
    """How many rows the run's `name` (OOF or TEST_PROBS) must hold by its status.json, or None when unknown."""
    recorded = status.get("oof_rows" if name == OOF else "test_probs_rows")
    if isinstance(recorded, int):
        return recorded
    if status.get("state") != "succeeded":
        return None  # a cancelled or failed run keeps what its finished folds wrote
    if name == TEST_PROBS:
        return status.get("test_rows") if isinstance(status.get("test_rows"), int) else None
    train_rows, labels = status.get("train_rows"), str(status.get("labels", ""))
    if not isinstance(train_rows, int) or labels.startswith("augmented:"):
        return None  # an offline expansion's copies are never scored
    try:
        from core.config import load_config

        folds = load_config(Path(run_dir) / CONFIG).data.folds
    except Exception:  # noqa: BLE001 - an unreadable config.yaml: the count is unknown, not a damage
        return None
    return train_rows if folds >= 2 else None  # one fold is a 20% hold-out


def load_oof(run_dir: str | Path, status: dict[str, Any]) -> pd.DataFrame | None:
    """oof.csv checked (module docstring): ID str, fold / given / predicted int, prob_* float; None when missing."""
    run_dir = Path(run_dir)
    frame = _read(run_dir, OOF, ("ID", "given"))
    if frame is None:
        return None
    frame = _numeric(run_dir, OOF, frame, integers=("fold", "given", "predicted"))
    _check_count(run_dir, OOF, len(frame), expected_rows(run_dir, status, OOF))
    return frame


def load_test_probs(run_dir: str | Path, status: dict[str, Any]) -> pd.DataFrame | None:
    """test_probs.csv checked (module docstring): ID str, prob_* float; None when missing."""
    run_dir = Path(run_dir)
    frame = _read(run_dir, TEST_PROBS, ("ID",))
    if frame is None:
        return None
    frame = _numeric(run_dir, TEST_PROBS, frame, integers=())
    _check_count(run_dir, TEST_PROBS, len(frame), expected_rows(run_dir, status, TEST_PROBS))
    return frame


def load_embeddings(run_dir: str | Path) -> tuple[pd.DataFrame, np.ndarray] | None:
    """(ID/split table, (N, D) array memory-mapped read-only) of a run, or None when it stored no embeddings.

    Memory-mapped: 200,000 x 1,752 float32 is 1.4 GB, which a page must not hold per run; callers copy
    the rows they use. RunDamaged when embeddings.npy cannot be loaded, is not a finite 2-D array (checked
    in blocks of rows), or has another number of rows than embeddings_ids.csv.
    """
    run_dir = Path(run_dir)
    if not (run_dir / EMBEDDINGS).is_file() or not (run_dir / EMBEDDING_IDS).is_file():
        return None
    ids = _read(run_dir, EMBEDDING_IDS, ("ID", "split"))
    try:
        vectors = np.load(run_dir / EMBEDDINGS, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _damaged(run_dir, EMBEDDINGS, f"cannot be loaded ({shown(exc, 80)})") from exc
    if vectors.ndim != 2 or not np.issubdtype(vectors.dtype, np.number):
        raise _damaged(run_dir, EMBEDDINGS, f"holds a {vectors.dtype} array of shape {vectors.shape}, not (N, D)")
    if ids is None or len(ids) != len(vectors):
        rows = 0 if ids is None else len(ids)
        raise _damaged(run_dir, EMBEDDINGS, f"has {len(vectors)} rows but {EMBEDDING_IDS} has {rows}")
    for start in range(0, len(vectors), _CHECK_ROWS):
        if not np.isfinite(vectors[start : start + _CHECK_ROWS]).all():
            raise _damaged(run_dir, EMBEDDINGS, "holds NaN or infinite values")
    return ids, vectors


_CHECK_ROWS = 8192  # rows of embeddings.npy checked at a time (57 MB at 1,752 float32 dimensions)


def _read(run_dir: Path, name: str, required: tuple[str, ...]) -> pd.DataFrame | None:
    """The CSV as strings (core.io.csvfile.read_csv), None when missing; RunDamaged when it cannot be parsed."""
    path = run_dir / name
    if not path.is_file():
        return None
    try:
        frame = read_csv(path, required_columns=required).frame
    except CsvError as exc:
        raise _damaged(run_dir, name, shown(str(exc).removeprefix(f"{path}: "), 160)) from exc
    if frame.empty:
        raise _damaged(run_dir, name, "has a header but no rows")
    return frame


def _numeric(run_dir: Path, name: str, frame: pd.DataFrame, *, integers: tuple[str, ...]) -> pd.DataFrame:
    """Every prob_* column as floats and `integers` as ints; RunDamaged naming the first incomplete row."""
    probs = [c for c in frame.columns if c.startswith("prob_")]
    if not probs:
        raise _damaged(run_dir, name, f"has no prob_0.. columns (has {shown(', '.join(frame.columns), 80)})")
    result = pd.DataFrame({"ID": frame["ID"].astype(str)})
    for column in [c for c in frame.columns if c != "ID"]:
        values = pd.to_numeric(frame[column], errors="coerce") if column in probs or column in integers else None
        if values is None:
            result[column] = frame[column]
            continue
        bad = ~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))
        if column in integers:
            bad |= ~bad & (values.fillna(0) % 1 != 0).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise _damaged(
                run_dir,
                name,
                f"row {row + 2} ({shown(frame['ID'].iloc[row])}) has {column} {shown(frame[column].iloc[row])!r}"
                + (", the file is cut short" if row == len(frame) - 1 else ""),
            )
        result[column] = values.astype(np.int64) if column in integers else values.astype(np.float64)
    return result


def _check_count(run_dir: Path, name: str, rows: int, expected: int | None) -> None:
    if expected is not None and rows != expected:
        raise _damaged(
            run_dir,
            name,
            f"has {rows:,} rows but the run wrote {expected:,}"
            + (" (the file is cut short)" if rows < expected else ""),
        )
