"""The user's project folder and the `.workbench/` folder the workbench writes into.

layout      ProjectLayout: every path of a project (workbench.toml overrides), resolve_inside
db          the SQLite store `.workbench/workbench.db`: schema and migrations
imageindex  one cached pass over the images: sizes, decode check, thumbnails
checks      what `workbench check` finds: Finding, CheckReport, the row checks
dataset     load_dataset: the usable rows, the classes, the findings
importer    a class-per-subfolder (ImageFolder) dataset imported into the project layout
demo        the built-in demo project from scikit-learn's digits
"""

from __future__ import annotations

from core.project.checks import CheckReport, Finding
from core.project.dataset import Dataset, class_label, format_report, load_dataset
from core.project.demo import build_demo
from core.project.importer import import_folder
from core.project.layout import ProjectError, ProjectLayout, open_layout, resolve_inside

__all__ = [
    "CheckReport",
    "Dataset",
    "Finding",
    "ProjectError",
    "ProjectLayout",
    "build_demo",
    "class_label",
    "format_report",
    "import_folder",
    "load_dataset",
    "open_layout",
    "resolve_inside",
]
