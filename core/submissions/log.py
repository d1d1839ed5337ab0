"""The submissions log (DESIGN.md): every CSV a team sent to the leaderboard, and what it scored there.

    log_submission(layout, raw, name=, produced_by=, note=, oof_macro_f1=, test_ids=, num_classes=)
                                   the CSV checked (core.predictions), copied to predictions/submitted-*.csv,
                                   then its row written; returns the Submission
    run_submission(layout, run, ...)   the same for a run's submission.csv (its OOF macro-F1 from the run)
    file_submission(layout, path, ...) the same for a prediction CSV (an ensemble's manifest says what made it)
    set_scores(layout, id, public=, private=)   the leaderboard scores typed in later
    list_submissions(layout)       a DataFrame, oldest first
    validation_vs_leaderboard(frame)  (n, Pearson r, Spearman rho) of OOF macro-F1 against the public score

A submission's file is a copy made when it is logged, named submitted-<time>-<name>.csv, so a run
deleted or a prediction file replaced later never changes what the log says was sent (its sha256 is
kept too). The copy is written before the row; a row that cannot be written removes the copy again.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.io.atomic import write_bytes_atomic
from core.io.text import shown
from core.predictions.members import PredictionError, parse_predictions
from core.predictions.store import predictions_dir, read_manifest, safe_name
from core.project.db import open_store, write_transaction

PREFIX = "submitted-"
COLUMNS = ["id", "file", "sha256", "produced_by", "note", "oof_macro_f1", "public_score", "private_score",
           "created_at", "scored_at"]  # fmt: skip


class SubmissionError(ValueError):
    """A submission that cannot be logged or scored; the message says why."""


@dataclass(frozen=True)
class Submission:
    id: int
    file: str  # the copy's name under predictions/
    sha256: str
    produced_by: str
    note: str
    oof_macro_f1: float | None
    public_score: float | None
    private_score: float | None
    created_at: str
    scored_at: str | None


def _score(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise SubmissionError(f"{what} must be a number, got {shown(value)}") from exc
    if not math.isfinite(number):
        raise SubmissionError(f"{what} must be a finite number, got {shown(value)}")
    return number


def log_submission(
    layout,
    raw: bytes,
    *,
    name: str,
    produced_by: str,
    note: str = "",
    oof_macro_f1: float | None = None,
    test_ids: list[str],
    num_classes: int,
) -> Submission:
    """Check the CSV, keep a copy under predictions/, write its row (module docstring)."""
    try:
        parse_predictions(raw, name=name, test_ids=test_ids, num_classes=num_classes)
    except PredictionError as exc:
        raise SubmissionError(str(exc)) from exc
    oof = _score(oof_macro_f1, "the OOF macro-F1")
    folder = predictions_dir(layout)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    stem = safe_name(f"{PREFIX}{stamp}-{Path(name).stem}")
    path = folder / f"{stem}.csv"
    for n in range(2, 1000):
        if not path.exists():
            break
        path = folder / f"{stem}-{n}.csv"
    write_bytes_atomic(path, raw)
    try:
        with open_store(layout.db_path) as connection, write_transaction(connection):
            cursor = connection.execute(
                "INSERT INTO submissions (file, sha256, produced_by, note, oof_macro_f1) VALUES (?, ?, ?, ?, ?)",
                (path.name, hashlib.sha256(raw).hexdigest(), produced_by[:500], note[:2000], oof),
            )
            row_id = int(cursor.lastrowid)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return get_submission(layout, row_id)


def run_submission(layout, run, *, note: str = "", test_ids: list[str], num_classes: int) -> Submission:
    """Log a run's submission.csv, with the run's OOF macro-F1."""
    from core.runs.folder import SUBMISSION

    path = Path(run.run_dir) / SUBMISSION
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"run {run.run_id} has no {SUBMISSION}: {exc.strerror or exc}") from exc
    metrics = run.status.get("metrics") if isinstance(run.status.get("metrics"), dict) else {}
    oof = metrics.get("oof_macro_f1")
    return log_submission(layout, raw, name=f"{run.run_id}.csv", produced_by=f"run {run.run_id}", note=note,
                          oof_macro_f1=oof if isinstance(oof, int | float) else None, test_ids=test_ids,
                          num_classes=num_classes)  # fmt: skip


def file_submission(layout, path: Path, *, note: str = "", test_ids: list[str], num_classes: int) -> Submission:
    """Log a prediction CSV; an ensemble's manifest (predictions/<name>.json) says what made it and its OOF score."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"{path.name}: cannot be read: {exc.strerror or exc}") from exc
    manifest = read_manifest(path)
    produced_by = str(manifest.get("produced_by") or f"file {path.name}")
    oof = manifest.get("oof_macro_f1")
    return log_submission(layout, raw, name=path.name, produced_by=produced_by, note=note,
                          oof_macro_f1=oof if isinstance(oof, int | float) else None, test_ids=test_ids,
                          num_classes=num_classes)  # fmt: skip


def get_submission(layout, submission_id: int) -> Submission:
    with open_store(layout.db_path) as connection:
        row = connection.execute(
            f"SELECT {', '.join(COLUMNS)} FROM submissions WHERE id = ?", (int(submission_id),)
        ).fetchone()
    if row is None:
        raise SubmissionError(f"no submission {shown(submission_id)} in the log")
    return Submission(*row)


def set_scores(layout, submission_id: int, *, public: float | None, private: float | None = None) -> Submission:
    """The leaderboard's public (and, later, private) score of a logged submission; None leaves a score as it is."""
    public, private = _score(public, "the public score"), _score(private, "the private score")
    get_submission(layout, submission_id)  # a clear error for an unknown id
    with open_store(layout.db_path) as connection, write_transaction(connection):
        connection.execute(
            "UPDATE submissions SET public_score = COALESCE(?, public_score), private_score = COALESCE(?, private_score), "
            "scored_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
            (public, private, int(submission_id)),
        )
    return get_submission(layout, submission_id)


def list_submissions(layout) -> pd.DataFrame:
    """Every logged submission, oldest first (COLUMNS)."""
    with open_store(layout.db_path) as connection:
        rows = connection.execute(f"SELECT {', '.join(COLUMNS)} FROM submissions ORDER BY id").fetchall()
    return pd.DataFrame(rows, columns=COLUMNS)


def validation_vs_leaderboard(frame: pd.DataFrame, *, score: str = "public_score") -> tuple[int, float, float]:
    """(submissions with both figures, Pearson r, Spearman rho); NaN correlations below 3 or without spread."""
    both = frame[["oof_macro_f1", score]].apply(pd.to_numeric, errors="coerce").dropna()
    n = len(both)
    if n < 3 or both.std().min() == 0:
        return n, float("nan"), float("nan")
    pearson = float(np.corrcoef(both["oof_macro_f1"], both[score])[0, 1])
    spearman = float(both.rank().corr().iloc[0, 1])
    return n, pearson, spearman
