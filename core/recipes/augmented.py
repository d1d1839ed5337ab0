"""The folder contract of an offline expansion: `.workbench/augmented/<name>/`, as the writer leaves it.

    <name>/images/<stem>__aug<k>.png   copy k (0-based) of the train image whose ID is <stem>.<ext>
    <name>/train.csv                   ID,target,original_ID: one row per copy, the originals' order
    <name>/recipe.yaml                 the recipe as it was used (stamped with its name and version)
    <name>/manifest.json               recipe, recipe_version, seed, copies, labels (the pinned source:
                                       "original", "v<N>" or a CSV's absolute path), counts, skipped
                                       images with the reason, workers, seconds, created_at

A folder under augmented/ whose name starts with "." is work in progress (`.partial-<name>`, a
lock, the background job's status): never an expansion. A finished expansion appears in one
rename, so a folder named <name> with a manifest is always complete.

    augmented_dir(layout)          .workbench/augmented
    safe_name(text)                a name that cannot leave augmented/ (letters, digits, '-', '_')
    default_name(recipe, copies)   "<recipe>-x<copies>"
    expansion_folder(layout, name) augmented/<name>, refused when it would land elsewhere
    copy_names(ids)                ID -> the stem its copies are named after (unique, flat)
    list_expansions(layout)        the finished ones (Expansion: name, folder, manifest)
    read_expansion(layout, name)   (Expansion, rows ID, target, original_ID, path)

`data.labels = "augmented:<name>"` (core.labels.versions) trains on the labels the expansion was
made from plus its rows; `original_ID` says which image each copy came from, so folds can keep a
copy with its original (pass it as groups to a grouped splitter).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from core.io.csvfile import CsvError, read_csv
from core.project.layout import ProjectLayout

PREFIX = "augmented:"  # data.labels = "augmented:<name>"
IMAGES = "images"
CSV = "train.csv"
RECIPE_FILE = "recipe.yaml"
MANIFEST = "manifest.json"
ORIGINAL = "original_ID"  # the column naming the train image a copy was made from
COLUMNS = ["ID", "target", ORIGINAL]
MAX_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class ExpansionError(ValueError):
    """An expansion that cannot be written or read; the message names the folder and what is wrong."""


@dataclass(frozen=True)
class Expansion:
    """A finished expansion: its name, folder and manifest (see the module docstring)."""

    name: str
    folder: Path
    manifest: dict[str, Any]

    @property
    def images(self) -> int:
        return int(self.manifest.get("images", 0))


def augmented_dir(layout: ProjectLayout) -> Path:
    return layout.work_dir / "augmented"


def safe_name(text: str) -> str:
    """`text` with every run of characters other than letters, digits, '-' and '_' made one '-', trimmed
    to MAX_NAME: "../../x y" -> "x-y". ExpansionError when nothing is left."""
    name = _UNSAFE.sub("-", str(text)).strip("-_")[:MAX_NAME].strip("-_")
    if not name:
        raise ExpansionError(f"expansion name {text!r}: use letters, digits, '-' or '_'")
    return name


def default_name(recipe: str, copies: int) -> str:
    return safe_name(f"{recipe}-x{int(copies)}")


def expansion_folder(layout: ProjectLayout, name: str) -> Path:
    """augmented/<name> for a name that `safe_name` leaves as it is; ExpansionError otherwise."""
    if not isinstance(name, str) or safe_name(name) != name:
        raise ExpansionError(
            f"expansion name {name!r}: use 1 to {MAX_NAME} letters, digits, '-' or '_' (not starting with '-')"
        )
    base = augmented_dir(layout)
    folder = base / name
    if folder.resolve().parent != base.resolve():  # a symlinked entry pointing out of augmented/
        raise ExpansionError(f"{folder}: resolves outside {base}; remove it")
    return folder


def _flat(text: str) -> str:
    return str(text).replace("/", "__").replace("\\", "__")


def copy_names(ids: Iterable[str]) -> dict[str, str]:
    """ID -> the stem of its copies' file names: the ID without its extension, with '/' as '__'
    ("a/cat_0.png" -> "a__cat_0"); IDs whose stems would collide keep their extension ("cat_0.jpg")."""
    ids = list(ids)
    stems = {i: _flat(PurePosixPath(i).with_suffix("") if PurePosixPath(i).suffix else i) for i in ids}
    counts = Counter(stems.values())
    names = {i: (stem if counts[stem] == 1 else _flat(i)) for i, stem in stems.items()}
    taken = Counter(names.values())
    if len(taken) != len(names):
        clash = [i for i in ids if taken[names[i]] > 1][:4]
        raise ExpansionError(f"train IDs {', '.join(clash)} would name their copies alike; rename one of them")
    return names


def copy_id(stem: str, k: int) -> str:
    """The ID (file name under images/) of copy k of the image with that stem."""
    return f"{stem}__aug{int(k)}.png"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def list_expansions(layout: ProjectLayout) -> list[Expansion]:
    """Every finished expansion (a folder with a readable manifest), by name; never raises."""
    base = augmented_dir(layout)
    try:
        folders = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []
    found = []
    for folder in folders:
        manifest = read_manifest(folder)
        if manifest is not None:
            found.append(Expansion(folder.name, folder, manifest))
    return found


def read_expansion(layout: ProjectLayout, name: str) -> tuple[Expansion, pd.DataFrame]:
    """(the expansion, its rows: ID, target (int), original_ID, path (absolute)).

    ExpansionError for a bad name, a folder that is missing or unfinished (the names of the finished
    ones are listed), or a CSV that does not match the contract.
    """
    folder = expansion_folder(layout, name)
    manifest = read_manifest(folder)
    if manifest is None:
        known = ", ".join(e.name for e in list_expansions(layout)) or "none yet"
        raise ExpansionError(
            f"expansion {name!r}: no finished expansion in {folder} (finished: {known}); "
            "write one with `workbench expand --project DIR --recipe NAME --copies K`"
        )
    try:
        frame = read_csv(folder / CSV, required_columns=tuple(COLUMNS)).frame
    except CsvError as exc:
        raise ExpansionError(str(exc)) from exc
    targets = pd.to_numeric(frame["target"], errors="coerce")
    if targets.isna().any():
        raise ExpansionError(f"{folder / CSV}: {int(targets.isna().sum())} target(s) are not class indices")
    frame["target"] = targets.astype(int)
    frame["path"] = [str(folder / IMAGES / i) for i in frame["ID"]]
    return Expansion(name, folder, manifest), frame[[*COLUMNS, "path"]].reset_index(drop=True)
