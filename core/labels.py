"""Which train labels a run uses: the original train.csv or an exported clean version.

Versions live in `.workbench/labels/train_v<N>.csv` (same columns as train.csv; dropped rows are
absent). A run's `data.labels` is "original", "latest" (newest version, else original), "v<N>", or
a CSV path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from core.csvio import CsvError, read_csv
from core.dataset import Dataset

_VERSION = re.compile(r"^train_v(\d+)\.csv$")


class LabelsError(ValueError):
    """Labels that cannot be used; names the file and the rows."""


def label_versions(labels_dir: Path) -> list[tuple[int, Path]]:
    """(version, path) of every exported clean train CSV, oldest first."""
    if not Path(labels_dir).is_dir():
        return []
    found = []
    for path in Path(labels_dir).iterdir():
        match = _VERSION.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def resolve_labels(dataset: Dataset, spec: str) -> tuple[pd.DataFrame, str]:
    """(train rows ID, target, path, labels name) for a run's `data.labels`.

    Rows of a version must be usable train images of the project; anything else is an error that
    names the IDs.
    """
    layout = dataset.layout
    spec = (spec or "original").strip()
    if spec == "original":
        return dataset.train[["ID", "target", "path"]].copy(), "original"
    versions = label_versions(layout.labels_dir)
    if spec == "latest":
        if not versions:
            return dataset.train[["ID", "target", "path"]].copy(), "original"
        number, path = versions[-1]
        name = f"v{number}"
    elif re.fullmatch(r"v\d+", spec):
        matches = [p for n, p in versions if n == int(spec[1:])]
        if not matches:
            known = ", ".join(f"v{n}" for n, _ in versions) or "none yet"
            raise LabelsError(f"labels {spec!r}: no such version in {layout.labels_dir} (versions: {known})")
        path, name = matches[0], spec
    else:
        path = Path(spec).expanduser()
        name = path.name
    settings = layout.settings
    try:
        frame = read_csv(path, required_columns=(settings.id_column, settings.target_column)).frame
    except CsvError as exc:
        raise LabelsError(str(exc)) from exc
    frame = frame.rename(columns={settings.id_column: "ID", settings.target_column: "target"})
    targets = pd.to_numeric(frame["target"], errors="coerce")
    bad = targets.isna() | ~targets.isin(list(dataset.classes))
    if bad.any():
        rows = [f"row {i + 2}: {v!r}" for i, v in zip(frame.index[bad], frame.loc[bad, "target"])][:5]
        raise LabelsError(f"{path}: {int(bad.sum())} label(s) are not class indices: {', '.join(rows)}")
    frame["target"] = targets.astype(int)
    paths = dict(zip(dataset.train["ID"], dataset.train["path"]))
    unknown = [i for i in frame["ID"] if i not in paths]
    if unknown:
        raise LabelsError(f"{path}: {len(unknown)} ID(s) are not usable train images: {', '.join(unknown[:5])}")
    frame["path"] = [paths[i] for i in frame["ID"]]
    return frame[["ID", "target", "path"]].reset_index(drop=True), name
