"""Rebuilding workbench.db from the files it indexes, when it was deleted or created empty over existing work.

    exported_versions(labels_dir)                   (N, train_vN.csv) of the export files, oldest first
    rebuild_from_exports(connection, labels_dir)    label_versions rows + the newest version's decisions

What can come back: every exported version (`labels/train_v<N>.csv`, its counts from the file and
`changes_v<N>.csv`), and the decisions the newest version embodies: one relabel / drop / ambiguous
(left out) decision per row of its changes file, so the next export starts from the earlier
cleaning instead of from train.csv. What cannot: keep decisions and ambiguous images kept with their
label (a changes file lists only rows that differ), decisions made after the newest export, undo
history, and the submissions log (the copies under predictions/ stay on disk; re-add them).

core.project.db calls this on opening a store that has no label version; it never imports the
store module (no cycle), and it takes the caller's open write transaction.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from core.io.csvfile import CsvError, read_csv

_VERSION = re.compile(r"^train_v(\d+)\.csv$")
_ACTIONS = ("relabel", "drop", "ambiguous")


def exported_versions(labels_dir: Path) -> list[tuple[int, Path]]:
    """(N, path) of every `train_v<N>.csv` in `labels_dir`, oldest first (none when the folder is missing)."""
    try:
        names = [p for p in Path(labels_dir).iterdir() if _VERSION.match(p.name)]
    except OSError:
        return []
    return sorted((int(_VERSION.match(p.name).group(1)), p) for p in names)


def _modified(path: Path) -> str:
    stamp = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _changes(path: Path) -> list[dict[str, str]]:
    try:
        return read_csv(path, required_columns=("ID", "old", "new", "action")).frame.to_dict("records")
    except CsvError:
        return []


def _label(text: str) -> int | None:
    text = str(text).strip()
    return int(text) if text.isdigit() else None


def _decisions(connection: sqlite3.Connection, version: int, rows: list[dict[str, str]]) -> tuple[int, int]:
    """Insert the decisions a changes file records; returns (stored, rows skipped as unreadable)."""
    stored = skipped = 0
    for row in rows:
        action, old, new = row["action"], _label(row["old"]), _label(row["new"])
        if action not in _ACTIONS or not row["ID"] or (action == "relabel" and new is None):
            skipped += 1
            continue
        new = old if action == "ambiguous" else new if action == "relabel" else None
        source = (row.get("source") or "manual")[:20]
        connection.execute(
            "INSERT OR IGNORE INTO label_decisions (image_id, action, old_label, new_label, source, request_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (row["ID"], action, old, new, source, f"rebuilt-v{version}:{row['ID']}"),
        )
        stored += 1
    return stored, skipped


def rebuild_from_exports(connection: sqlite3.Connection, labels_dir: Path) -> str | None:
    """Put back the label versions (and, into an empty decision table, the newest version's decisions).

    Runs inside the caller's write transaction; does nothing (None) when the store already lists a
    version or there is no export. Returns the notice to show the user.
    """
    versions = exported_versions(labels_dir)
    if not versions or connection.execute("SELECT 1 FROM label_versions LIMIT 1").fetchone():
        return None
    newest, _ = versions[-1]
    newest_changes = Path(labels_dir) / f"changes_v{newest}.csv"
    decided = connection.execute("SELECT 1 FROM label_decisions LIMIT 1").fetchone() is not None
    stored = skipped = 0
    if not decided:
        stored, skipped = _decisions(connection, newest, _changes(newest_changes))
    through = connection.execute("SELECT COALESCE(MAX(id), 0) FROM label_decisions").fetchone()[0]
    for number, path in versions:
        try:
            rows = len(read_csv(path).frame)
        except CsvError:
            rows = 0
        changes_path = Path(labels_dir) / f"changes_v{number}.csv"
        actions = [r["action"] for r in _changes(changes_path)]
        connection.execute(
            "INSERT INTO label_versions (version, path, rows, relabeled, dropped, changes_path, decisions_through, "
            "ambiguous, ambiguous_left_out, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                str(path),
                rows,
                actions.count("relabel"),
                actions.count("drop"),
                str(changes_path) if changes_path.is_file() else None,
                through,
                actions.count("ambiguous"),
                actions.count("ambiguous"),
                _modified(path),
            ),
        )
    listed = f"v{versions[0][0]}" + (f"..v{newest}" if len(versions) > 1 else "")
    notice = f"rebuilt from the exported files: {len(versions)} label version(s) ({listed})"
    if decided:
        return notice + "; the decisions already in it were kept"
    notice += f" and {stored} decision(s) from {newest_changes.name}"
    if skipped:
        notice += f" ({skipped} unreadable row(s) skipped)"
    return notice + " (keep decisions, decisions made after that export and undo history could not be recovered)"
