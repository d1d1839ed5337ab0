"""Per-user settings kept outside any project: where the demo lives, recently opened projects.

The home is `$WORKBENCH_HOME`, else `$XDG_DATA_HOME/workbench`, else `~/.local/share/workbench`.
Tests point WORKBENCH_HOME at a temporary folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from core.io.atomic import write_json_atomic

MAX_RECENT = 10


def workbench_home() -> Path:
    explicit = os.environ.get("WORKBENCH_HOME")
    if explicit:
        return Path(explicit).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "workbench"


def demo_project_dir() -> Path:
    return workbench_home() / "demo"


def ensure_demo_project() -> Path:
    """The demo project's folder, built on first use (about 10 s), its images indexed and thumbnailed."""
    from core.project.demo import build_demo, prepare_first_view

    root = demo_project_dir()
    if not (root / "train.csv").is_file():
        if root.exists() and any(root.iterdir()):
            # A build interrupted half-way: start over in a fresh folder.
            import shutil

            shutil.rmtree(root)
        staging = root.with_name(root.name + ".building")
        if staging.exists():
            import shutil

            shutil.rmtree(staging)
        build_demo(staging, index=False)  # indexed where it ends up: the index holds absolute thumbnail paths
        staging.rename(root)
        prepare_first_view(root)
    return root


def _recent_file() -> Path:
    return workbench_home() / "recent.json"


def recent_projects() -> list[str]:
    """Recently opened project folders, newest first, only those that still exist."""
    try:
        items = json.loads(_recent_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [p for p in items if isinstance(p, str) and Path(p).is_dir()][:MAX_RECENT]


def remember_project(path: str | Path) -> list[str]:
    """Put `path` first in the recent list and save it; returns the new list."""
    resolved = str(Path(path).expanduser().resolve())
    items = [resolved] + [p for p in recent_projects() if p != resolved]
    items = items[:MAX_RECENT]
    target = _recent_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(target, items)
    return items
