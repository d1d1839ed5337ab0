"""Which train labels a run uses: the original train.csv or an exported clean version.

Versions live in `.workbench/labels/train_v<N>.csv` (same columns as train.csv; dropped rows are
absent). A run's `data.labels` is "original", "latest" (newest version, else original), "v<N>", a
CSV path, or "augmented:<name>": the labels an offline expansion (core.recipes.augmented) was made
from plus its augmented copies, with a column original_ID naming the image each row came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.io.csvfile import CsvError, read_csv, write_csv_atomic
from core.labels.decisions import apply_decisions, current_rows
from core.project.dataset import Dataset
from core.project.db import open_store, write_transaction
from core.project.layout import ProjectLayout
from core.recipes.augmented import ORIGINAL, PREFIX, ExpansionError, read_expansion

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
    names the IDs. "augmented:<name>" adds a column original_ID (see `expansion_labels`).
    """
    layout = dataset.layout
    spec = (spec or "original").strip()
    if spec.startswith(PREFIX):
        return expansion_labels(dataset, spec[len(PREFIX) :].strip())
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


def expansion_labels(dataset: Dataset, name: str) -> tuple[pd.DataFrame, str]:
    """(rows ID, target, path, original_ID; "augmented:<name>"): the labels expansion `name` was made
    from (its manifest pins them: "original", "v<N>" or a CSV), then its copies of those rows' images.

    An original's original_ID is its own ID; a copy's is the image it was made from, so folds that
    group by original_ID never validate on a copy of a training image. LabelsError when the
    expansion is missing or unfinished, or a copy's ID is also a train ID.
    """
    try:
        expansion, copies = read_expansion(dataset.layout, name)
    except ExpansionError as exc:
        raise LabelsError(str(exc)) from exc
    source = str(expansion.manifest.get("labels") or "original")
    if source.startswith(PREFIX):
        raise LabelsError(f"{expansion.folder}: made from another expansion ({source}); expand train labels instead")
    base, _ = resolve_labels(dataset, source)
    base[ORIGINAL] = base["ID"]
    copies = copies.loc[copies[ORIGINAL].isin(set(base["ID"]))]
    clash = sorted(set(copies["ID"]) & set(base["ID"]))
    if clash:
        raise LabelsError(f"{expansion.folder}: copy IDs that are also train IDs: {', '.join(clash[:5])}")
    frame = pd.concat([base, copies[["ID", "target", "path", ORIGINAL]]], ignore_index=True)
    return frame, f"{PREFIX}{expansion.name}"


CHANGE_COLUMNS = ["ID", "old", "new", "action", "source"]


@dataclass(frozen=True)
class ExportResult:
    version: int
    path: Path
    changes_path: Path
    rows: int
    relabeled: int
    dropped: int
    ignored: int  # decisions for IDs that train.csv does not list
    ambiguous: int = 0  # train images marked ambiguous when this version was exported
    ambiguous_left_out: int = 0  # of those, how many this version leaves out (all with leave_out_ambiguous)


def _read_train(layout: ProjectLayout) -> pd.DataFrame:
    settings = layout.settings
    return read_csv(
        layout.train_csv, encoding=settings.encoding, required_columns=(settings.id_column, settings.target_column)
    ).frame


def export_version(layout: ProjectLayout, *, leave_out_ambiguous: bool = False) -> ExportResult:
    """Write the next clean version: `labels/train_v<N>.csv` and `labels/changes_v<N>.csv`.

    train_v<N>.csv: train.csv's columns and rows with every current decision applied (dropped rows
    removed). Images marked ambiguous keep their label, or are left out with `leave_out_ambiguous`.
    changes_v<N>.csv: ID, old (train.csv's label), new (this version's label, empty when left
    out), action (relabel / drop / ambiguous: left out as ambiguous), source; one row per image
    that differs from train.csv, so each version is train.csv plus its own changes file. Both are
    written atomically (temp file + rename) while the store's write lock is held: N is unique even
    when two exports race, and the decisions read are exactly the ones a concurrent reviewer had
    committed. train.csv is only read.
    """
    settings = layout.settings
    train = _read_train(layout)
    layout.ensure_work_dir()
    with open_store(layout.db_path) as connection, write_transaction(connection):
        current = current_rows(connection)
        from core.labels.versions import label_versions

        on_disk = [n for n, _ in label_versions(layout.labels_dir)]
        in_db = connection.execute("SELECT MAX(version) FROM label_versions").fetchone()[0] or 0
        version = max([in_db, *on_disk]) + 1
        clean = apply_decisions(
            train,
            current,
            id_column=settings.id_column,
            target_column=settings.target_column,
            leave_out_ambiguous=leave_out_ambiguous,
        )
        changes = _changes(train, clean, current, id_column=settings.id_column, target_column=settings.target_column)
        changes_path = write_csv_atomic(changes, layout.labels_dir / f"changes_v{version}.csv")
        # The train file last: `label_versions` (what runs resolve "latest" to) sees only complete versions.
        path = write_csv_atomic(clean, layout.labels_dir / f"train_v{version}.csv")
        relabeled = int((changes["action"] == "relabel").sum())
        dropped = int((changes["action"] == "drop").sum())
        left_out = int((changes["action"] == "ambiguous").sum())
        in_train = current.loc[current["ID"].isin(train[settings.id_column])]
        ambiguous = int((in_train["action"] == "ambiguous").sum())
        connection.execute(
            "INSERT INTO label_versions (version, path, rows, relabeled, dropped, changes_path, decisions_through, "
            "ambiguous, ambiguous_left_out) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                version,
                str(path),
                len(clean),
                relabeled,
                dropped,
                str(changes_path),
                int(current["decision_id"].max()) if len(current) else 0,
                ambiguous,
                left_out,
            ),
        )
    ignored = len(current) - len(in_train)
    return ExportResult(version, path, changes_path, len(clean), relabeled, dropped, ignored, ambiguous, left_out)


def _changes(
    train: pd.DataFrame, clean: pd.DataFrame, current: pd.DataFrame, *, id_column: str, target_column: str
) -> pd.DataFrame:
    original = dict(zip(train[id_column], train[target_column]))
    final = dict(zip(clean[id_column], clean[target_column]))
    source = dict(zip(current["ID"], current["source"]))
    action = dict(zip(current["ID"], current["action"]))
    rows = []
    for image_id, old in original.items():
        if image_id not in final:
            left_out = "ambiguous" if action.get(image_id) == "ambiguous" else "drop"
            rows.append((image_id, old, "", left_out, source.get(image_id, "")))
        elif final[image_id] != old:
            rows.append((image_id, old, final[image_id], "relabel", source.get(image_id, "")))
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def read_version(path: Path, *, id_column: str = "ID", target_column: str = "target") -> dict[str, str]:
    frame = read_csv(Path(path), required_columns=(id_column, target_column)).frame
    return dict(zip(frame[id_column], frame[target_column]))


VERSION_COLUMNS = [
    "version",
    "rows",
    "relabeled",
    "dropped",
    "ambiguous_left_out",
    "changed_vs_previous",
    "dropped_vs_previous",
    "restored_vs_previous",
    "created_at",
    "path",
]


def versions_table(layout: ProjectLayout) -> pd.DataFrame:
    """One row per exported version, oldest first (VERSION_COLUMNS).

    rows / relabeled / dropped count against train.csv (dropped: by a drop decision);
    ambiguous_left_out: images left out because they were marked ambiguous (its changes file says
    which); *_vs_previous against the version before (v1 against train.csv): labels changed, rows
    left out, rows brought back.
    """
    from core.labels.versions import label_versions

    settings = layout.settings
    versions = label_versions(layout.labels_dir)
    if not versions:
        return pd.DataFrame(columns=VERSION_COLUMNS)
    created: dict[int, str] = {}
    if layout.db_path.is_file():
        with open_store(layout.db_path) as connection:
            created = dict(connection.execute("SELECT version, created_at FROM label_versions").fetchall())
    previous = read_version(layout.train_csv, id_column=settings.id_column, target_column=settings.target_column)
    original = previous
    rows = []
    for number, path in versions:
        labels = read_version(path, id_column=settings.id_column, target_column=settings.target_column)
        left_out = _ambiguous_left_out(layout.labels_dir / f"changes_v{number}.csv")
        rows.append(
            {
                "version": number,
                "rows": len(labels),
                "relabeled": sum(1 for i, t in labels.items() if i in original and original[i] != t),
                "dropped": sum(1 for i in original if i not in labels and i not in left_out),
                "ambiguous_left_out": len(left_out),
                "changed_vs_previous": sum(1 for i, t in labels.items() if i in previous and previous[i] != t),
                "dropped_vs_previous": sum(1 for i in previous if i not in labels),
                "restored_vs_previous": sum(1 for i in labels if i not in previous),
                "created_at": created.get(number, ""),
                "path": str(path),
            }
        )
        previous = labels
    return pd.DataFrame(rows, columns=VERSION_COLUMNS)


def _ambiguous_left_out(changes_path: Path) -> set[str]:
    """IDs a version's changes file lists as left out for being ambiguous (none when the file is missing)."""
    try:
        frame = read_csv(changes_path, required_columns=("ID", "action")).frame
    except CsvError:  # missing or unreadable: the table still lists the version, counting none
        return set()
    return set(frame.loc[frame["action"] == "ambiguous", "ID"])
