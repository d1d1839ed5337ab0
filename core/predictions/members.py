"""Prediction CSVs as ensemble members: read, checked against the project's test IDs, or taken from a run.

    parse_predictions(raw, name=, test_ids=, num_classes=) -> Member    a CSV's bytes, checked (DESIGN.md)
    run_member(run_dir, name=, test_ids=, num_classes=)   -> Member    a run's test_probs.csv (+ its oof.csv)
    Member             name, labels (M,), probs (M, K) or None, source, oof (train probabilities) or None
    PredictionError    what is wrong, naming the file and a few offending rows (then a count)

A prediction CSV is `ID,target` with optional `prob_0..prob_{K-1}` (all K or none). It is rejected,
with nothing half-loaded, when it is empty, binary, over MAX_BYTES, not a CSV, has another header, a
duplicate ID, an ID that is not a test ID, a test ID missing, a target outside 0..K-1, or a probability
row that is not K numbers in [0, 1] summing to 1 (within PROB_TOLERANCE). Rows are numbered as a
spreadsheet shows them (the header is row 1); echoed values are cut to 40 characters and escaped.
A member's rows are in the project's test order.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.io.text import shown

MAX_BYTES = 50 * 1024 * 1024  # 3,000 rows x 17 probabilities is ~0.5 MB; 50 MB is a wrong file
PROB_TOLERANCE = 0.01  # probabilities written with 2-3 decimals sum to 1 within this
SHOW = 5  # offending rows named in a message, then a count


class PredictionError(ValueError):
    """A prediction CSV that cannot be used; the message names the file and the offending rows."""


@dataclass
class Member:
    """One set of test predictions, in the project's test order."""

    name: str
    labels: np.ndarray  # (M,) int64 class indices
    probs: np.ndarray | None  # (M, K) float64, rows sum to 1; None: labels only (hard vote only)
    source: str = "file"  # "file" (uploaded or under predictions/), "run <id>", "ensemble"
    oof: pd.DataFrame | None = None  # a run's out-of-fold rows: ID, given, prob_0..prob_{K-1}

    @property
    def has_probs(self) -> bool:
        return self.probs is not None


def _rows(frame: pd.DataFrame, mask: np.ndarray, what: str, *, column: str | None = None) -> str:
    """ "3 rows ...: row 5 (cat.png), row 9 (...) and 1 more" for the rows where mask is True."""
    where = np.flatnonzero(mask)
    items = []
    for i in where[:SHOW]:
        value = frame.iloc[i][column] if column else frame.iloc[i]["ID"]
        items.append(f"row {i + 2} ({shown(value)})")
    more = f" and {len(where) - SHOW} more" if len(where) > SHOW else ""
    return f"{len(where)} row{'s' if len(where) != 1 else ''} {what}: {', '.join(items)}{more}"


def _frame(raw: bytes, name: str) -> pd.DataFrame:
    from core.io.csvfile import CsvError, decode_bytes

    if len(raw) > MAX_BYTES:
        raise PredictionError(f"{name}: {len(raw) / 1e6:.0f} MB is over the {MAX_BYTES // 2**20} MB limit")
    if not raw.strip():
        raise PredictionError(f"{name}: the file is empty")
    if b"\x00" in raw[:8192]:
        raise PredictionError(f"{name}: a binary file, not a CSV (ID,target[,prob_0..])")
    try:
        text, _, _ = decode_bytes(raw, path=Path(name))
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except CsvError as exc:
        raise PredictionError(str(exc)) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise PredictionError(f"{name}: not a valid CSV: {shown(exc, 200)}") from exc
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    if frame.empty:
        raise PredictionError(f"{name}: a header and no rows")
    return frame.apply(lambda column: column.str.strip())


def _check_header(frame: pd.DataFrame, name: str, num_classes: int) -> list[str]:
    """The probability columns (all K, or none); PredictionError for another header."""
    columns = list(frame.columns)
    expected = [f"prob_{k}" for k in range(num_classes)]
    missing = [c for c in ("ID", "target") if c not in columns]
    probs = [c for c in columns if c.startswith("prob_")]
    other = [c for c in columns if c not in ("ID", "target") and not c.startswith("prob_")]
    if missing or other or (probs and sorted(probs) != sorted(expected)):
        header = ",".join(shown(c, 20) for c in columns[:12]) + (",..." if len(columns) > 12 else "")
        want = f"ID,target and optionally {expected[0]}..{expected[-1]}"
        raise PredictionError(f"{name}: the header is {header}; expected {want} ({num_classes} classes)")
    return expected if probs else []


def parse_predictions(raw: bytes, *, name: str, test_ids: list[str], num_classes: int) -> Member:
    """A prediction CSV's bytes checked against the project (module docstring); its rows in test order."""
    return _member(_frame(raw, name), name=name, test_ids=test_ids, num_classes=num_classes)


def _member(frame: pd.DataFrame, *, name: str, test_ids: list[str], num_classes: int) -> Member:
    prob_cols = _check_header(frame, name, num_classes)
    problems = []
    duplicated = frame["ID"].duplicated(keep=False).to_numpy()
    if duplicated.any():
        problems.append(_rows(frame, duplicated, "with a duplicate ID"))
    known = set(test_ids)
    extra = ~frame["ID"].isin(known).to_numpy()
    if extra.any():
        problems.append(_rows(frame, extra, "with an ID that is not a test ID"))
    missing = sorted(known - set(frame["ID"]))
    if missing:
        listed = ", ".join(shown(i) for i in missing[:SHOW]) + (
            f" and {len(missing) - SHOW} more" if len(missing) > SHOW else ""
        )
        problems.append(f"{len(missing)} test ID{'s' if len(missing) != 1 else ''} missing: {listed}")
    target = pd.to_numeric(frame["target"], errors="coerce").to_numpy()
    bad_target = ~(np.isfinite(target) & (target == np.round(target)) & (target >= 0) & (target < num_classes))
    if bad_target.any():
        problems.append(_rows(frame, bad_target, f"with a target outside 0..{num_classes - 1}", column="target"))
    probs = None
    if prob_cols:
        probs = frame[prob_cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        finite = np.isfinite(probs).all(axis=1)
        in_range = finite & (np.nan_to_num(probs, nan=-1.0) >= 0).all(axis=1) & (np.nan_to_num(probs) <= 1).all(axis=1)
        sums = np.abs(np.nan_to_num(probs).sum(axis=1) - 1.0) <= PROB_TOLERANCE
        bad = ~(in_range & sums)
        if bad.any():
            problems.append(
                _rows(frame, bad, f"whose {len(prob_cols)} probabilities are not numbers in 0..1 summing to 1")
            )
    if problems:
        raise PredictionError(f"{name}: " + "; ".join(problems))
    order = pd.Series(np.arange(len(frame)), index=frame["ID"]).loc[list(test_ids)].to_numpy()
    labels = target[order].astype(np.int64)
    if probs is not None:
        probs = probs[order] / probs[order].sum(axis=1, keepdims=True)
    return Member(name=name, labels=labels, probs=probs)


def run_member(run_dir: str | Path, *, name: str, test_ids: list[str], num_classes: int) -> Member:
    """A run's test predictions (test_probs.csv) with its out-of-fold rows (oof.csv, when present).

    PredictionError when the run has no test predictions for every test ID, or its oof.csv is cut short or
    garbled (core.runs.artifacts.load_oof).
    """
    from core.runs.artifacts import RunDamaged, load_oof
    from core.runs.folder import TEST_PROBS, prob_columns, read_status

    run_dir = Path(run_dir)
    path = run_dir / TEST_PROBS
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PredictionError(f"run {run_dir.name}: no test predictions ({TEST_PROBS}: {exc.strerror or exc})") from exc
    frame = _frame(raw, f"{run_dir.name}/{TEST_PROBS}")
    columns = prob_columns(num_classes)
    if "ID" not in frame or any(c not in frame for c in columns):
        raise PredictionError(f"run {run_dir.name}: {TEST_PROBS} does not have ID and {columns[0]}..{columns[-1]}")
    frame = frame[["ID", *columns]]
    frame.insert(1, "target", np.nan_to_num(frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy()).argmax(1))
    member = _member(frame, name=name, test_ids=test_ids, num_classes=num_classes)
    member.source = f"run {run_dir.name}"
    try:
        oof = load_oof(run_dir, read_status(run_dir))
    except RunDamaged as exc:  # cut short or garbled: never scored on part of its out-of-fold rows in silence
        raise PredictionError(str(exc)) from exc
    if oof is not None and all(c in oof for c in ("ID", "given", *columns)):
        member.oof = oof[["ID", "given", *columns]]
    return member


def member_csv(member: Member, test_ids: list[str]) -> str:
    """The member as a prediction CSV: ID,target (and prob_0..prob_{K-1} when it has probabilities)."""
    frame = pd.DataFrame({"ID": list(test_ids), "target": member.labels})
    if member.probs is not None:
        probs = pd.DataFrame(member.probs, columns=[f"prob_{k}" for k in range(member.probs.shape[1])])
        frame = pd.concat([frame, probs.round(6)], axis=1)
    return frame.to_csv(index=False)
