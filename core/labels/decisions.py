"""Label decisions (keep / relabel / drop / ambiguous) in `.workbench/workbench.db`, and the clean CSVs exported from them.

    record_decision(db_path, image_id, action, *, old_label, ...)   one decision, committed on return
    record_decisions(db_path, items, ...)                           many, in one transaction (bulk)
    undo_decision(db_path, decision_id)                             mark one reverted (history kept)
    current_decisions(db_path)                                      the latest decision per image
    export_version(layout)                                          labels/train_v<N>.csv + changes_v<N>.csv
    versions_table(layout)                                          each version's counts and diff

The store is append-only: a decision is never updated except to mark it reverted, so the history of
an image is its rows in order, and its current label is its newest row that is not reverted. Every
write is its own transaction in WAL mode with synchronous=FULL (core.project.db): when a function returns,
the decision is on disk and survives the process being killed.

Two browser tabs, or the page and the CLI, write to the same file. A reviewing page passes
`expected_latest` (the decision id it saw for the image, None when undecided): if another writer has
decided the image since, the write is refused with DecisionConflict instead of stacking a second
decision on top. A `request_id` makes a write idempotent: the same request sent twice (a double
click, a retried rerun) stores one row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.project.db import open_store, write_transaction

# ambiguous: the image is plausible in two overlapping classes (shirt / T-shirt). Not a label error:
# it keeps its label (like keep) and leaves the review queue; an export can leave it out of training.
ACTIONS = ("keep", "relabel", "drop", "ambiguous")


SOURCES = ("cleanlab", "manual", "bulk")


ANY = object()  # expected_latest: do not check what the image's latest decision is


class DecisionConflict(RuntimeError):
    """The image was decided by someone else after the caller looked at it; `current` is that decision."""

    def __init__(self, image_id: str, current: Decision | None) -> None:
        self.image_id = image_id
        self.current = current
        what = "its decision was undone" if current is None else f"{current.describe()} ({current.source})"
        super().__init__(f"{image_id} was decided meanwhile: {what}")


@dataclass(frozen=True)
class Decision:
    id: int
    image_id: str
    action: str
    old_label: int | None
    new_label: int | None
    source: str
    run_id: str | None
    created_at: str
    request_id: str | None = None
    reverted_at: str | None = None

    def describe(self) -> str:
        if self.action == "relabel":
            return f"relabel {self.old_label} -> {self.new_label}"
        if self.action == "drop":
            return "drop"
        if self.action == "ambiguous":
            return f"ambiguous (label {self.new_label} kept)"
        return f"keep {self.new_label}"


_COLUMNS = "id, image_id, action, old_label, new_label, source, run_id, created_at, request_id, reverted_at"


def _decision(row: Sequence) -> Decision:
    return Decision(*row)


def _latest(connection: sqlite3.Connection, image_id: str) -> Decision | None:
    row = connection.execute(
        f"SELECT {_COLUMNS} FROM label_decisions WHERE image_id = ? AND reverted_at IS NULL ORDER BY id DESC LIMIT 1",
        (image_id,),
    ).fetchone()
    return _decision(row) if row else None


def _check_decision(image_id: str, action: str, old_label, new_label, source: str) -> tuple[int | None, int | None]:
    if not isinstance(image_id, str) or not image_id:
        raise ValueError(f"image_id must be a non-empty string, got {image_id!r}")
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
    old = None if old_label is None else _as_label(old_label, "old_label")
    if action == "relabel":
        if new_label is None:
            raise ValueError(f"relabel of {image_id} needs new_label")
        return old, _as_label(new_label, "new_label")
    if action == "ambiguous" and old is None and new_label is None:
        raise ValueError(f"ambiguous of {image_id} needs old_label (the label it keeps)")
    if action in ("keep", "ambiguous"):
        return old, old if new_label is None else _as_label(new_label, "new_label")
    return old, None


def _as_label(value, name: str) -> int:
    """A class index from an int (numpy's too), a whole float, or a string of digits."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a class index, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            raise ValueError(f"{name} must be a class index, got {value!r}")
        return int(text)
    try:
        label = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a class index, got {value!r}") from None
    if label != value or label < 0:
        raise ValueError(f"{name} must be a whole class index >= 0, got {value!r}")
    return label


def _insert(
    connection: sqlite3.Connection,
    image_id: str,
    action: str,
    old: int | None,
    new: int | None,
    source: str,
    run_id: str | None,
    expected_latest,
    request_id: str | None,
) -> Decision:
    if request_id is not None:
        row = connection.execute(
            f"SELECT {_COLUMNS} FROM label_decisions WHERE request_id = ?", (request_id,)
        ).fetchone()
        if row:
            return _decision(row)  # sent twice: the first one stands
    if expected_latest is not ANY:
        latest = _latest(connection, image_id)
        if (latest.id if latest else None) != expected_latest:
            raise DecisionConflict(image_id, latest)
    cursor = connection.execute(
        "INSERT INTO label_decisions (image_id, action, old_label, new_label, source, run_id, request_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (image_id, action, old, new, source, run_id, request_id),
    )
    row = connection.execute(f"SELECT {_COLUMNS} FROM label_decisions WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return _decision(row)


def record_decision(
    db_path: str | Path,
    image_id: str,
    action: str,
    *,
    old_label: int | None,
    new_label: int | None = None,
    source: str = "manual",
    run_id: str | None = None,
    expected_latest=ANY,
    request_id: str | None = None,
) -> Decision:
    """Store one decision and return it once it is committed to disk.

    action: keep (new_label defaults to old_label: the label is right), relabel (new_label
    required), drop (new_label None), ambiguous (new_label defaults to old_label: plausible in two
    classes, not an error; see ACTIONS). old_label: the image's label as the decider saw it.
    source: cleanlab (a suggestion accepted or rejected in the review queue), manual, or bulk.
    expected_latest: the id of the image's latest decision the caller saw (None: undecided);
    raises DecisionConflict when it differs. request_id: a second call with the same id returns
    the first decision instead of storing another.
    """
    old, new = _check_decision(image_id, action, old_label, new_label, source)
    with open_store(db_path) as connection, write_transaction(connection):
        return _insert(connection, image_id, action, old, new, source, run_id, expected_latest, request_id)


@dataclass(frozen=True)
class DecisionRequest:
    """One decision of a bulk write (see record_decisions)."""

    image_id: str
    action: str
    old_label: int | None
    new_label: int | None = None
    expected_latest: object = ANY
    request_id: str | None = None


def record_decisions(
    db_path: str | Path, requests: Iterable[DecisionRequest], *, source: str = "bulk", run_id: str | None = None
) -> tuple[list[Decision], list[DecisionConflict]]:
    """Store many decisions in one transaction; returns (stored, conflicts skipped).

    A request whose image was decided meanwhile (expected_latest differs) is skipped and returned
    as a conflict; the others are stored, all or none (a crash midway stores none).
    """
    checked = []
    for request in requests:
        old, new = _check_decision(request.image_id, request.action, request.old_label, request.new_label, source)
        checked.append((request, old, new))
    stored: list[Decision] = []
    conflicts: list[DecisionConflict] = []
    with open_store(db_path) as connection, write_transaction(connection):
        for request, old, new in checked:
            try:
                stored.append(
                    _insert(
                        connection,
                        request.image_id,
                        request.action,
                        old,
                        new,
                        source,
                        run_id,
                        request.expected_latest,
                        request.request_id,
                    )
                )
            except DecisionConflict as conflict:
                conflicts.append(conflict)
    return stored, conflicts


def undo_decision(db_path: str | Path, decision_id: int) -> Decision | None:
    """Mark a decision reverted (the row stays, as history); returns it, or None if it already was.

    The image's current label falls back to its previous decision that is not reverted (or to
    train.csv's label when there is none).
    """
    with open_store(db_path) as connection, write_transaction(connection):
        cursor = connection.execute(
            "UPDATE label_decisions SET reverted_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
            "WHERE id = ? AND reverted_at IS NULL",
            (int(decision_id),),
        )
        if cursor.rowcount == 0:
            return None
        row = connection.execute(f"SELECT {_COLUMNS} FROM label_decisions WHERE id = ?", (int(decision_id),)).fetchone()
    return _decision(row)


def latest_decision(db_path: str | Path, image_id: str) -> Decision | None:
    """The image's current decision (newest not reverted), or None when it was never decided."""
    with open_store(db_path, read_only=True) as connection:
        return _latest(connection, image_id)


CURRENT_COLUMNS = ["ID", "decision_id", "action", "old_label", "new_label", "source", "run_id", "created_at"]


def current_decisions(db_path: str | Path) -> pd.DataFrame:
    """One row per decided image, its newest decision that is not reverted (CURRENT_COLUMNS)."""
    with open_store(db_path, read_only=True) as connection:
        return current_rows(connection)


def current_rows(connection: sqlite3.Connection) -> pd.DataFrame:
    rows = connection.execute(
        "SELECT d.image_id, d.id, d.action, d.old_label, d.new_label, d.source, d.run_id, d.created_at "
        "FROM label_decisions d JOIN (SELECT MAX(id) AS id FROM label_decisions WHERE reverted_at IS NULL "
        "GROUP BY image_id) latest ON d.id = latest.id ORDER BY d.id"
    ).fetchall()
    frame = pd.DataFrame(rows, columns=CURRENT_COLUMNS)
    for column in ("old_label", "new_label"):
        frame[column] = frame[column].astype("Int64")
    return frame


def decision_history(db_path: str | Path, *, image_id: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """Every decision, newest first (reverted ones too, with reverted_at set)."""
    query = f"SELECT {_COLUMNS} FROM label_decisions"
    params: list = []
    if image_id is not None:
        query += " WHERE image_id = ?"
        params.append(image_id)
    query += " ORDER BY id DESC"
    if limit:
        query += " LIMIT ?"
        params.append(int(limit))
    with open_store(db_path, read_only=True) as connection:
        rows = connection.execute(query, params).fetchall()
    return pd.DataFrame(rows, columns=[c.strip() for c in _COLUMNS.split(",")])


def decision_counts(db_path: str | Path) -> dict[str, int]:
    """Current decisions by action: {"keep": n, "relabel": n, "drop": n, "ambiguous": n}."""
    with open_store(db_path, read_only=True) as connection:
        rows = connection.execute(
            "SELECT d.action, COUNT(*) FROM label_decisions d JOIN (SELECT MAX(id) AS id FROM label_decisions "
            "WHERE reverted_at IS NULL GROUP BY image_id) latest ON d.id = latest.id GROUP BY d.action"
        ).fetchall()
    counts = dict.fromkeys(ACTIONS, 0)
    counts.update({action: int(n) for action, n in rows})
    return counts


# --------------------------------------------------------------------------------------- export


def apply_decisions(
    train: pd.DataFrame,
    current: pd.DataFrame,
    *,
    id_column: str,
    target_column: str,
    leave_out_ambiguous: bool = False,
) -> pd.DataFrame:
    """train.csv's rows with the current decisions applied: relabels set, drops removed, keeps as decided.

    Ambiguous images keep their decided label, or are removed too when `leave_out_ambiguous`.
    Decisions for IDs that are not in train are ignored. The frame keeps train's columns and order.
    """
    frame = train.copy()
    if current.empty:
        return frame
    by_id = current.set_index("ID")
    decided = frame[id_column].isin(by_id.index).to_numpy()
    actions = by_id["action"].reindex(frame[id_column]).to_numpy()
    new_labels = by_id["new_label"].reindex(frame[id_column]).to_numpy()
    removed = decided & (actions == "drop")
    if leave_out_ambiguous:
        removed |= decided & (actions == "ambiguous")
    labelled = decided & ~removed
    frame.loc[labelled, target_column] = [str(int(v)) for v in new_labels[labelled]]
    return frame.loc[~removed].reset_index(drop=True)
