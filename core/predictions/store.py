"""The project's prediction CSVs under .workbench/predictions/: teammates' files and exported ensembles.

    predictions_dir(layout)                      .workbench/predictions/
    safe_name(text)                              a file stem that stays inside the folder (or PredictionError)
    add_prediction(layout, name, raw, test_ids=, num_classes=, replace=)  checked first, then written
                                                 atomically as <name>.csv; returns (Member, path)
    save_member(layout, name, member, test_ids=, replace=, about=)   an ensemble written as a prediction CSV
                                                 (and what made it, as <name>.json: read_manifest)
    list_predictions(layout, test_ids=, num_classes=)        every CSV there: a Member, or its error

Nothing is written before the CSV passed every check (core.predictions.members); a name is made of
letters, digits, '.', '_' and '-' (anything else becomes '_'), at most 60 characters, never starting
with '.'; an existing file is only replaced when asked. A file dropped into the folder by hand is listed
like an uploaded one (with its error, when it has one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.io.atomic import write_json_atomic, write_text_atomic
from core.io.text import shown
from core.predictions.members import MAX_BYTES, Member, PredictionError, member_csv, parse_predictions

FOLDER = "predictions"
MAX_NAME = 60


@dataclass
class PredictionFile:
    """One CSV under predictions/: its member, or why it cannot be used."""

    name: str
    path: Path
    member: Member | None
    error: str = ""


def predictions_dir(layout) -> Path:
    return layout.work_dir / FOLDER


def safe_name(text: str) -> str:
    """A file stem for `text` (a file name or a typed name): '.csv' dropped, other characters made '_'."""
    stem = Path(str(text).strip()).name
    if stem.lower().endswith(".csv"):
        stem = stem[:-4]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:MAX_NAME]
    if not stem:
        raise PredictionError(f"{shown(text)!r} is not a usable name: use letters, digits, '.', '_' or '-'")
    return stem


def _target(layout, name: str, *, replace: bool) -> Path:
    folder = predictions_dir(layout)
    path = folder / f"{safe_name(name)}.csv"
    if path.parent != folder:  # safe_name keeps it inside; checked anyway
        raise PredictionError(f"{shown(name)!r} would leave {folder}")
    if (path.exists() or path.is_symlink()) and not replace:
        raise PredictionError(f"{path.name} already exists in {folder}; choose another name or replace it")
    return path


def add_prediction(
    layout, name: str, raw: bytes, *, test_ids: list[str], num_classes: int, replace: bool = False
) -> tuple[Member, Path]:
    """Check `raw` against the project, then write it (as its canonical CSV) to predictions/<safe name>.csv."""
    path = _target(layout, name, replace=replace)
    member = parse_predictions(raw, name=path.stem, test_ids=test_ids, num_classes=num_classes)
    return member, save_member(layout, path.stem, member, test_ids=test_ids, replace=replace)


def save_member(
    layout, name: str, member: Member, *, test_ids: list[str], replace: bool = False, about: dict | None = None
) -> Path:
    """Write a member (e.g. an ensemble) as predictions/<safe name>.csv; returns the path.

    `about` (what made it: {"produced_by": "...", "oof_macro_f1": ..., ...}) goes into <name>.json beside it,
    which the submissions log reads.
    """
    path = _target(layout, name, replace=replace)
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = manifest_path(path)
    if about is not None:
        write_json_atomic(manifest, about)
    else:
        manifest.unlink(missing_ok=True)  # a replaced file's old story
    return write_text_atomic(path, member_csv(member, test_ids))


def manifest_path(csv_path: Path) -> Path:
    return Path(csv_path).with_suffix(".json")


def read_manifest(csv_path: Path) -> dict:
    """What made a prediction CSV (save_member's `about`); {} when there is none or it is unreadable."""
    from core.runs.status import read_json

    return read_json(manifest_path(csv_path))


def list_predictions(layout, *, test_ids: list[str], num_classes: int) -> list[PredictionFile]:
    """Every regular .csv file under predictions/ (sorted by name), checked; never raises, never writes."""
    folder = predictions_dir(layout)
    try:
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv" and not p.name.startswith("."))
    except OSError:
        return []
    found = []
    for path in paths:
        try:
            if not path.is_file():
                raise PredictionError(f"{path.name}: not a regular file")
            if path.stat().st_size > MAX_BYTES:
                raise PredictionError(f"{path.name}: over the {MAX_BYTES // 2**20} MB limit")
            member = parse_predictions(path.read_bytes(), name=path.stem, test_ids=test_ids, num_classes=num_classes)
            found.append(PredictionFile(path.stem, path, member))
        except (PredictionError, OSError) as exc:
            found.append(PredictionFile(path.stem, path, None, str(exc)[:2000]))
    return found
