"""The project folder: where a competition's files are, and the `.workbench/` folder we write to.

Layout (DESIGN.md), every name overridable in an optional `workbench.toml` at the project root:

    train.csv  sample_submission.csv  meta.csv  test_labels.csv  train/  test/  .workbench/

`ProjectLayout` holds the resolved paths; nothing here reads images or checks rows (that is
`core.project.dataset`). The workbench never writes outside `<project>/.workbench/`, and reads a path
setting that resolves outside the project only when workbench.toml says `allow_outside = true`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from core.io.images import DEFAULT_MAX_PIXELS
from core.io.text import shown

CONFIG_FILE = "workbench.toml"


WORK_DIR = ".workbench"


OTHER_TABLES = ("backup",)  # workbench.toml tables read elsewhere: [backup] (core.project.backup)


class ProjectError(ValueError):
    """A project folder that cannot be opened at all; the message names the path."""


@dataclass(frozen=True)
class ProjectSettings:
    """File names and columns of a project; defaults are the competition layout."""

    train_csv: str = "train.csv"
    test_csv: str = "sample_submission.csv"
    meta_csv: str = "meta.csv"
    test_labels_csv: str = "test_labels.csv"
    train_dir: str = "train"
    test_dir: str = "test"
    id_column: str = "ID"
    target_column: str = "target"
    class_name_column: str = "class_name"
    encoding: str | None = None  # None: UTF-8, else detected (and reported)
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    allow_outside: bool = False  # true: the paths above may resolve outside the project (`check` lists them)


PATH_SETTINGS = ("train_csv", "test_csv", "meta_csv", "test_labels_csv", "train_dir", "test_dir")


_SETTING_TYPES = {"max_image_pixels": int, "allow_outside": bool}


def read_settings(root: Path) -> ProjectSettings:
    """Defaults overridden by `<root>/workbench.toml` (top level or a [project] table)."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return ProjectSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: not valid TOML: {exc}") from exc
    data = data.get("project", {k: v for k, v in data.items() if k not in OTHER_TABLES})
    known = {f.name: f for f in fields(ProjectSettings)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ProjectError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    settings = ProjectSettings()
    for key, value in data.items():
        expected = _SETTING_TYPES.get(key, str)
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise ProjectError(f"{path}: {key} must be a {expected.__name__}, got {shown(repr(value), 200)}")
    return replace(settings, **data)


def outside_paths(root: Path, settings: ProjectSettings) -> list[tuple[str, str, Path]]:
    """(setting, its value, where it resolves) for each path setting (PATH_SETTINGS, defaults included)
    that resolves outside the resolved `root`: symlinks followed, so a linked folder counts where it lands."""
    outside = []
    for key in PATH_SETTINGS:
        value = getattr(settings, key)
        try:
            resolved = Path(os.path.realpath(root / value))
        except (ValueError, OSError):  # a NUL in the value: nothing to read there
            resolved = Path(value)
        if resolved != root and not resolved.is_relative_to(root):
            outside.append((key, value, resolved))
    return outside


@dataclass(frozen=True)
class ProjectLayout:
    """Resolved absolute paths of one project folder."""

    root: Path
    settings: ProjectSettings

    @property
    def train_csv(self) -> Path:
        return self.root / self.settings.train_csv

    @property
    def test_csv(self) -> Path:
        return self.root / self.settings.test_csv

    @property
    def meta_csv(self) -> Path:
        return self.root / self.settings.meta_csv

    @property
    def test_labels_csv(self) -> Path:
        return self.root / self.settings.test_labels_csv

    @property
    def train_dir(self) -> Path:
        return self.root / self.settings.train_dir

    @property
    def test_dir(self) -> Path:
        return self.root / self.settings.test_dir

    @property
    def work_dir(self) -> Path:
        return self.root / WORK_DIR

    @property
    def cache_dir(self) -> Path:
        return self.work_dir / "cache"

    @property
    def runs_dir(self) -> Path:
        return self.work_dir / "runs"

    @property
    def labels_dir(self) -> Path:
        return self.work_dir / "labels"

    @property
    def db_path(self) -> Path:
        return self.work_dir / "workbench.db"

    def image_dir(self, split: str) -> Path:
        return self.train_dir if split == "train" else self.test_dir

    def ensure_work_dir(self) -> Path:
        """Create `.workbench/` and its subfolders (the only place we write). A folder that is not a project
        (no train CSV, e.g. /etc or a source tree) gets nothing: ProjectError."""
        if not self.work_dir.is_dir() and not self.train_csv.is_file():
            raise ProjectError(
                f"{self.root}: not a project ({self.settings.train_csv} not found); the workbench writes nothing here"
            )
        for folder in (self.work_dir, self.cache_dir, self.runs_dir, self.labels_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if not self.db_path.exists():
            from core.project.db import connect  # creates workbench.db with the current schema (WAL)

            connect(self.db_path).close()
        return self.work_dir


def open_layout(root: str | Path) -> ProjectLayout:
    """Resolve a project folder; raises ProjectError when it is not a readable folder, or when a path
    setting resolves outside it (outside_paths) and workbench.toml does not set allow_outside = true."""
    path = Path(root).expanduser()
    if not path.exists():
        raise ProjectError(f"{path}: folder not found")
    if not path.is_dir():
        raise ProjectError(f"{path}: not a folder")
    path = path.resolve()
    settings = read_settings(path)
    outside = outside_paths(path, settings)
    if outside and not settings.allow_outside:
        named = "; ".join(
            f"{key} = {shown(repr(value), 200)} resolves outside the project" for key, value, _ in outside
        )
        raise ProjectError(
            f"{shown(path, 300)}: {named}. The workbench reads only inside the project folder; to read from "
            f"there anyway, set allow_outside = true in {CONFIG_FILE}"
        )
    return ProjectLayout(root=path, settings=settings)


def resolve_inside(name: str, *bases: Path, bases_resolved: bool = False) -> Path | None:
    """`bases[0] / name` resolved (symlinks followed), or None when it lands outside every base.

    IDs come from CSVs a user did not write; an ID such as `../../etc/passwd`, an absolute path,
    or a symlink pointing outside the project must never be read. The bases are the image folder
    (which may itself be a symlink to a data disk) and the project root (where a symlinked file may
    point). An ID is a name below the image folder, so one with a `..` part is refused outright.
    Pass `bases_resolved=True` when the bases are already `.resolve()`d (checking many IDs).
    """
    if not name or "\x00" in name:
        return None
    candidate = Path(name)
    if candidate.is_absolute() or candidate.drive or ".." in candidate.parts:
        return None
    resolved_bases = list(bases) if bases_resolved else [base.resolve() for base in bases]
    resolved = Path(os.path.realpath(resolved_bases[0] / candidate))  # a symlink loop stays a path, never raises
    for base in resolved_bases:
        if resolved != base and resolved.is_relative_to(base):
            return resolved
    return None
