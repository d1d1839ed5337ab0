"""Run management: move a run to the trash and back, give it a display name, pin the active run.

    trash_run(layout, run_id)        the run folder moved to .workbench/trash/<run_id> (restorable)
    trashed_runs(layout)             run ids in the trash, newest first
    restore_run(layout, run_id)      moved back to .workbench/runs/<run_id>
    rename_run(run_dir, name)        a display name kept in the run folder (name.txt); "" removes it
    display_name(run_dir)            that name, else the config's `name`, else ""
    pinned_run(layout) / pin_run(layout, run_id | None)   the active run kept in .workbench/active_run.json

A run's config.yaml is never edited (it is what the run meant); the display name lives next to it.
Nothing is deleted: the trash is a folder a user can empty by hand.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from core.io.atomic import write_json_atomic, write_text_atomic
from core.io.text import shown
from core.project.layout import ProjectLayout
from core.runs.folder import CONFIG, STATUS, read_status
from core.runs.status import ACTIVE, read_json

NAME_FILE = "name.txt"
PIN_FILE = "active_run.json"
MAX_NAME = 120


class RunManageError(ValueError):
    """A run that cannot be moved, renamed or pinned; the message says which and why."""


def trash_dir(layout: ProjectLayout) -> Path:
    return layout.work_dir / "trash"


def _pin_path(layout: ProjectLayout) -> Path:
    return layout.work_dir / PIN_FILE


def _run_folder(base: Path, run_id: str) -> Path:
    """`base / run_id` for a plain folder name (no path separators, no "..")."""
    if not run_id or run_id != Path(run_id).name or run_id in (".", ".."):
        raise RunManageError(f"not a run id: {shown(run_id)}")
    return base / run_id


def trash_run(layout: ProjectLayout, run_id: str) -> Path:
    """Move a finished run's folder to the trash; returns where it went. A queued or running run is refused
    (cancel it first); the pin is removed when it named this run."""
    source = _run_folder(layout.runs_dir, run_id)
    if not (source / STATUS).is_file():
        raise RunManageError(f"no run {shown(run_id)} in {shown(str(layout.runs_dir))}")
    from core.runs.jobs import refresh_liveness  # a job that died reads as failed (judged in memory, never written)

    run_state = refresh_liveness(source, read_status(source)).get("state")
    if run_state in ACTIVE:
        raise RunManageError(f"run {shown(run_id)} is {run_state}: cancel it before deleting it")
    target = _run_folder(trash_dir(layout), run_id)
    if target.exists():
        raise RunManageError(f"the trash already holds a run {shown(run_id)}: restore or remove that one first")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(target))
    if pinned_run(layout) == run_id:
        pin_run(layout, None)
    return target


def trashed_runs(layout: ProjectLayout) -> list[str]:
    """Run ids in the trash (folders holding a status.json), newest first."""
    folder = trash_dir(layout)
    if not folder.is_dir():
        return []
    return sorted((p.name for p in folder.iterdir() if (p / STATUS).is_file()), reverse=True)


def restore_run(layout: ProjectLayout, run_id: str) -> Path:
    """Move a trashed run back into the runs folder; returns its folder there."""
    source = _run_folder(trash_dir(layout), run_id)
    if not (source / STATUS).is_file():
        raise RunManageError(f"no run {shown(run_id)} in the trash")
    target = _run_folder(layout.runs_dir, run_id)
    if target.exists():
        raise RunManageError(f"a run {shown(run_id)} already exists in {shown(str(layout.runs_dir))}")
    layout.runs_dir.mkdir(parents=True, exist_ok=True)
    shutil.move(str(source), str(target))
    return target


def rename_run(run_dir: Path, name: str) -> str:
    """Give a run a display name (stored in its folder as name.txt); an empty name removes it.

    Returns the name kept (whitespace collapsed). Longer than MAX_NAME characters or a name with
    control characters is refused.
    """
    run_dir = Path(run_dir)
    if not (run_dir / STATUS).is_file():
        raise RunManageError(f"no run folder {shown(str(run_dir))}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise RunManageError(f"a run name is one line of text, not {shown(name)}")
    cleaned = " ".join(name.split())
    if len(cleaned) > MAX_NAME:
        raise RunManageError(f"a run name has at most {MAX_NAME} characters ({len(cleaned)} given)")
    path = run_dir / NAME_FILE
    if cleaned:
        write_text_atomic(path, cleaned + "\n")
    else:
        path.unlink(missing_ok=True)
    return cleaned


def display_name(run_dir: Path) -> str:
    """The name given with `rename_run`, else the `name` in the run's config.yaml, else ""."""
    run_dir = Path(run_dir)
    try:
        given = (run_dir / NAME_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        given = ""
    if given:
        return given
    try:
        from core.config import load_config

        return load_config(run_dir / CONFIG).name
    except Exception:  # noqa: BLE001 - a damaged config.yaml: the run simply has no name
        return ""


def pinned_run(layout: ProjectLayout) -> str | None:
    """The run pinned as the project's active run, if any (whether it still exists is the caller's check)."""
    run_id = read_json(_pin_path(layout)).get("run_id")
    return run_id if isinstance(run_id, str) and run_id else None


def pin_run(layout: ProjectLayout, run_id: str | None) -> None:
    """Pin `run_id` as the active run of the project (None: unpin); kept across reloads and restarts."""
    path = _pin_path(layout)
    if run_id is None:
        path.unlink(missing_ok=True)
        return
    _run_folder(layout.runs_dir, run_id)
    layout.work_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"run_id": run_id})
