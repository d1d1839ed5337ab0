"""What `workbench check` finds in a project's tables: findings, the report, and the row checks.

    Finding / CheckReport     one finding (level, code, message, offending items) / all of them
    read_table, drop_empty_ids, dedupe, parse_targets, attach_paths, unlisted_files
                              the checks `core.project.dataset.load_dataset` runs on each CSV
    unusable_images           one finding for the images of both splits that cannot be used
    outside_project           the paths read from outside the project (allow_outside = true)
    check_database            workbench.db: usable, or rebuilt from the exports (`workbench check`)

A bad row is excluded and named (a few examples in the message, each cut and escaped; every item
in `items`, as found); the rest of the file stays usable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from core.io.csvfile import CsvError, read_csv
from core.io.text import shown
from core.project.layout import CONFIG_FILE, ProjectLayout, outside_paths, resolve_inside

Level = Literal["error", "warning", "info"]


SHOW_AT_MOST = 5


MAX_LABEL = 2**31 - 1  # a class index beyond this is a typo or an ID in the wrong column, never a class


@dataclass(frozen=True)
class Finding:
    """One thing `check` found. `items` are the offending IDs, rows or files (all of them)."""

    level: Level
    code: str
    message: str
    file: str = ""
    items: tuple[str, ...] = ()


@dataclass
class CheckReport:
    root: Path
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: Level, code: str, message: str, *, file: str = "", items: list[str] | tuple = ()) -> None:
        self.findings.append(Finding(level, code, message, file, tuple(str(i) for i in items)))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def usable(self) -> bool:
        return not self.errors


ITEM_WIDTH = 150  # characters of one item a message quotes (an ID may be a megabyte CSV cell)


MESSAGE_WIDTH = 900  # characters of one finding a terminal line or a page's warning shows (its items are cut already)


def examples(items: list[str]) -> str:
    """The first few items as a message quotes them: each cut and escaped (core.io.text.shown)."""
    quoted = ", ".join(shown(item, ITEM_WIDTH) for item in items[:SHOW_AT_MOST])
    more = len(items) - SHOW_AT_MOST
    return quoted + (f" and {more:,} more" if more > 0 else "")


def row_numbers(frame: pd.DataFrame, mask: pd.Series) -> list[str]:
    """Row numbers as a spreadsheet shows them (header is row 1)."""
    return [str(i + 2) for i in frame.index[mask]]


def read_table(
    report: CheckReport,
    path: Path,
    *,
    required: tuple[str, ...],
    encoding: str | None,
    encodings: dict[str, str],
    level: Level = "error",
) -> pd.DataFrame | None:
    try:
        result = read_csv(path, encoding=encoding, required_columns=required)
    except CsvError as exc:
        report.add(level, "csv", str(exc), file=path.name)
        return None
    encodings[path.name] = result.encoding
    if result.encoding != "utf-8" and encoding is None:
        report.add(
            "warning",
            "encoding",
            f"{path.name}: not UTF-8; read as {result.encoding}. Check the class names look right, "
            f'or set `encoding = "..."` in workbench.toml',
            file=path.name,
        )
    return result.frame


def drop_empty_ids(report: CheckReport, frame: pd.DataFrame, id_col: str, file: str) -> pd.DataFrame:
    empty = frame[id_col] == ""
    if empty.any():
        rows = row_numbers(frame, empty)
        report.add(
            "warning",
            "empty_id",
            f"{file}: {len(rows)} row(s) have an empty {id_col}; excluded: rows {examples(rows)}",
            file=file,
            items=rows,
        )
    return frame.loc[~empty]


def dedupe(report: CheckReport, frame: pd.DataFrame, id_col: str, file: str) -> pd.DataFrame:
    duplicated = frame[id_col].duplicated(keep="first")
    if duplicated.any():
        ids = sorted(set(frame.loc[duplicated, id_col]))
        report.add(
            "warning",
            "duplicate_id",
            f"{file}: {len(ids)} ID(s) appear more than once; the first row of each is used: {examples(ids)}",
            file=file,
            items=ids,
        )
    return frame.loc[~duplicated]


def parse_targets(report: CheckReport, frame: pd.DataFrame, col: str, file: str) -> pd.DataFrame:
    parsed = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    # "inf" and "1e30" parse as numbers but are no class index; casting them to int would crash or wrap.
    bad = ~np.isfinite(parsed) | (parsed != parsed.round()) | (parsed.abs() > MAX_LABEL)
    if bad.any():
        rows = row_numbers(frame, bad)
        values = [f"row {r}: {v!r}" for r, v in zip(rows, frame.loc[bad, col], strict=True)]
        report.add(
            "warning",
            "label_not_integer",
            f"{file}: {int(bad.sum())} label(s) in column {col!r} are not integers; rows excluded: {examples(values)}",
            file=file,
            items=rows,
        )
    frame = frame.loc[~bad].copy()
    frame[col] = parsed[~bad].astype(int)
    return frame


def attach_paths(
    report: CheckReport,
    frame: pd.DataFrame,
    *,
    id_col: str,
    split: str,
    layout: ProjectLayout,
    index: pd.DataFrame,
    file: str,
) -> pd.DataFrame:
    """Keep rows whose ID names a readable image inside the project; name every row dropped."""
    folder = layout.image_dir(split)
    folder_resolved, root_resolved = folder.resolve(), layout.root.resolve()
    usable_names = index.loc[(index["split"] == split) & (index["error"] == ""), "name"]
    usable = set(usable_names)
    in_split = index.loc[index["split"] == split]
    broken = dict(zip(in_split["name"], in_split["error"], strict=True))
    escaped, missing, corrupt, paths = [], [], [], []
    keep = []
    base = str(folder_resolved)
    for image_id in frame[id_col].tolist():  # a list: iterating an Arrow-backed column is 10x slower
        if image_id in usable:  # listed by the index: below real folders, a link's target checked there
            full = os.path.join(base, image_id)
            keep.append(True)
            paths.append(os.path.realpath(full) if os.path.islink(full) else full)  # one lstat, not one per part
            continue
        resolved = resolve_inside(image_id, folder_resolved, root_resolved, bases_resolved=True)
        if resolved is None:
            escaped.append(image_id)
            keep.append(False)
            paths.append("")
            continue
        name = Path(image_id).as_posix()
        if name in usable:  # the same file written another way ("./a.png", "sub//a.png")
            keep.append(True)
            paths.append(str(resolved))
        elif broken.get(name):
            corrupt.append(broken[name])
            keep.append(False)
            paths.append("")
        else:
            missing.append(image_id)
            keep.append(False)
            paths.append("")
    if escaped:
        report.add(
            "warning",
            "path_escape",
            f"{file}: {len(escaped)} ID(s) resolve outside the project (absolute path, '..' or a symlink "
            f"out); rejected: {examples(escaped)}",
            file=file,
            items=escaped,
        )
    if missing:
        report.add(
            "warning",
            "missing_image",
            f"{file}: {len(missing)} ID(s) have no image file under {folder.name}/; excluded: {examples(missing)}",
            file=file,
            items=missing,
        )
    if corrupt:
        unusable_images(report, split, folder.name, corrupt)
    frame = frame.assign(path=paths)
    return frame.loc[keep].reset_index(drop=True)


def unusable_images(report: CheckReport, split: str, folder: str, errors: list[str]) -> None:
    """One `corrupt_image` finding for the project: the images of a second split join the first's.
    Each error starts with "<split>/<name>: " (core.project.imageindex)."""
    earlier = next((f for f in report.findings if f.code == "corrupt_image"), None)
    parts = [(split, folder, list(errors))]
    if earlier is not None:
        report.findings.remove(earlier)
        parts.insert(0, (earlier.items[0].split("/", 1)[0], earlier.file, list(earlier.items)))
    counts = " and ".join(f"{len(items):,} {name} image(s)" for name, _, items in parts)
    every = [item for _, _, items in parts for item in items]
    report.add(
        "warning",
        "corrupt_image",
        f"{counts} cannot be used and are excluded: {examples(every)}",
        file=", ".join(folder for _, folder, _ in parts),
        items=every,
    )


def outside_project(report: CheckReport, layout: ProjectLayout) -> None:
    """The path settings read from outside the project (workbench.toml allow_outside = true), listed."""
    outside = outside_paths(layout.root, layout.settings)
    if outside:
        items = [f"{key} = {str(resolved)!r}" for key, _, resolved in outside]
        report.add(
            "warning",
            "outside_project",
            f"{CONFIG_FILE}: allow_outside = true; read from outside the project: {examples(items)}",
            file=CONFIG_FILE,
            items=items,
        )


def unlisted_files(
    report: CheckReport,
    index: pd.DataFrame,
    frame: pd.DataFrame | None,
    *,
    split: str,
    id_col: str,
    folder: str,
    file: str,
) -> None:
    names = set(index.loc[index["split"] == split, "name"])
    listed = set() if frame is None else set(frame[id_col])
    remaining = names - listed  # IDs written as the index writes names: most of them, no Path needed
    remaining -= {Path(i).as_posix() for i in listed if "/" in i or "\\" in i or i.startswith(".")}
    extra = sorted(remaining)
    if extra and frame is not None:
        report.add(
            "warning",
            "unlisted_image",
            f"{folder}/: {len(extra)} image file(s) are not in {file} and are ignored: {examples(extra)}",
            file=folder,
            items=extra,
        )


def check_database(report: CheckReport, layout: ProjectLayout) -> None:
    """workbench.db: an error when it is not a usable store (garbage, damaged, newer schema); a warning
    when it had to be rebuilt from the exported versions (it was deleted). Opens a store only where one
    exists or where exports exist to rebuild it from: a folder that is not a project gets no database."""
    from core.io.atomic import SaveError
    from core.project.db import DatabaseError, open_store, take_notices
    from core.project.rebuild import exported_versions

    rebuild = not layout.db_path.exists() and bool(exported_versions(layout.labels_dir))
    try:
        with open_store(layout.db_path, create=rebuild, read_only=True):
            pass
    except FileNotFoundError:
        pass  # no store yet, nothing exported: nothing to check
    except (DatabaseError, SaveError) as exc:
        report.add("error", "database", str(exc), file=layout.db_path.name)
    for notice in take_notices(layout.db_path):
        report.add("warning", "database_rebuilt", notice, file=layout.db_path.name)
