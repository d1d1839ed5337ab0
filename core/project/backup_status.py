"""The project's side of backups: where to back up, when it last was, and whether one is due.

backup_target(layout)      the folder `[backup] to = "..."` of workbench.toml names, or None
last_backup(layout)        the record core.project.backup leaves in `.workbench/last_backup.json`, or None
work_since(layout, when)   whether decisions, runs, labels... changed after a time (epoch seconds)
backup_warning(layout)     why the project should be backed up now (the sidebar's warning), or None
"""

from __future__ import annotations

import json
import sqlite3
import time
import tomllib
from pathlib import Path
from typing import Any

from core.io.text import shown
from core.project.backup_manifest import BackupError
from core.project.layout import CONFIG_FILE, ProjectLayout

RECORD = "last_backup.json"  # under .workbench/: the sidebar's "last backed up"


def backup_target(layout: ProjectLayout) -> Path | None:
    """`[backup] to = "..."` of the project's workbench.toml (relative to the project, ~ expanded), or None."""
    path = layout.root / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("backup", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise BackupError(f"{shown(path, 300)}: not valid TOML: {shown(exc, 200)}") from exc
    to = table.get("to") if isinstance(table, dict) else None
    if to is None:
        return None
    if not isinstance(to, str) or not to.strip():
        raise BackupError(
            f'{shown(path, 300)}: [backup] to must be a folder path, e.g. to = "/mnt/backup"; got {shown(to)}'
        )
    return (layout.root / Path(to).expanduser()).resolve()


def last_backup(layout: ProjectLayout) -> dict[str, Any] | None:
    """{folder, created_at, time (epoch s), files, copied}: the project's last backup, or None (never, or unreadable)."""
    try:
        record = json.loads((layout.work_dir / RECORD).read_text(encoding="utf-8"))
        return record if isinstance(record, dict) and isinstance(record.get("time"), int | float) else None
    except (OSError, ValueError):
        return None


def work_since(layout: ProjectLayout, when: float | None) -> bool:
    """Whether the team's work changed after `when` (epoch seconds; None: whether there is any work).

    Looks at the database (and its WAL: a decision lands there first), each run's status and events,
    and the labels, recipes and predictions folders: a stat per file, no content read.
    """
    if when is None:
        return _has_work(layout)
    work = layout.work_dir
    paths = [layout.db_path, work / "workbench.db-wal", layout.runs_dir, layout.labels_dir]
    paths += [work / "recipes", work / "predictions"]
    if layout.runs_dir.is_dir():
        for run in layout.runs_dir.iterdir():
            paths += [run / "status.json", run / "events.jsonl"]
    for folder in (layout.labels_dir, work / "recipes", work / "predictions"):
        if folder.is_dir():
            paths += list(folder.iterdir())
    for path in paths:
        try:
            if path.stat().st_mtime > when:
                return True
        except OSError:
            continue
    return False


STALE_AFTER_S = 86_400  # a backup older than a day, with work since, is worth a warning


def backup_warning(layout: ProjectLayout, *, now: float | None = None) -> str | None:
    """Why the project should be backed up now (never backed up but has work, or the last backup is
    older than a day and work happened since), or None."""
    record = last_backup(layout)
    if record is None:
        return (
            "Never backed up, and this project holds work (runs, decisions or label versions)."
            if _has_work(layout)
            else None
        )
    age = (time.time() if now is None else now) - float(record["time"])
    if age < STALE_AFTER_S or not work_since(layout, float(record["time"])):
        return None
    days = int(age // STALE_AFTER_S)
    return f"The last backup is {days} day{'s' if days != 1 else ''} old and work has happened since."


def _has_work(layout: ProjectLayout) -> bool:
    if any(p.is_dir() for p in children(layout.runs_dir)) or any(children(layout.labels_dir)):
        return True
    if not layout.db_path.is_file():
        return False
    try:
        connection = sqlite3.connect(f"{layout.db_path.as_uri()}?mode=ro", uri=True, timeout=2.0)
        try:
            return connection.execute("SELECT EXISTS (SELECT 1 FROM label_decisions)").fetchone()[0] == 1
        finally:
            connection.close()
    except sqlite3.Error:
        return False


def children(folder: Path) -> list[Path]:
    """The entries of `folder`; none when it is missing or unreadable."""
    try:
        return list(folder.iterdir())
    except OSError:
        return []
