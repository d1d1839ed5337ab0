"""The user's project folder and the `.workbench/` folder the workbench writes into.

layout      ProjectLayout: every path of a project (workbench.toml overrides), resolve_inside
db          the SQLite store `.workbench/workbench.db`: schema and migrations, DatabaseError, take_notices
rebuild     workbench.db rebuilt from the exported label versions when it was deleted
imageindex  one cached pass over the images: sizes, decode check, thumbnails
checks      what `workbench check` finds: Finding, CheckReport, the row checks
dataset     load_dataset: the usable rows, the classes, the findings
importer    a class-per-subfolder (ImageFolder) dataset imported into the project layout
demo        the built-in demo project from scikit-learn's digits
backup      backup_project: the team's work copied incrementally, with a manifest and checksums
backup_manifest  the backup folder's format: manifest.json + objects/ by sha256; BackupError
backup_status  the project's side: backup_target (workbench.toml [backup] to), last_backup, backup_warning
restore     restore_project: a project brought back from a backup, every checksum verified first
"""

from __future__ import annotations

from core.project.backup import backup_project
from core.project.backup_manifest import BackupError
from core.project.checks import CheckReport, Finding
from core.project.dataset import Dataset, class_label, format_report, load_dataset
from core.project.demo import build_demo
from core.project.importer import import_folder
from core.project.layout import ProjectError, ProjectLayout, open_layout, resolve_inside
from core.project.restore import restore_project

__all__ = [
    "BackupError",
    "CheckReport",
    "Dataset",
    "Finding",
    "ProjectError",
    "ProjectLayout",
    "backup_project",
    "build_demo",
    "class_label",
    "format_report",
    "import_folder",
    "load_dataset",
    "open_layout",
    "resolve_inside",
    "restore_project",
]
