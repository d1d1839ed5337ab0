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

from core.io.atomic import SaveError
from core.io.csvfile import CsvError, read_csv, write_csv_atomic
from core.labels.decisions import apply_decisions, current_rows
from core.project.dataset import Dataset
from core.project.db import DatabaseError, open_store, write_transaction
from core.project.layout import ProjectLayout
from core.project.rebuild import exported_versions
from core.recipes.augmented import ORIGINAL, PREFIX, ExpansionError, read_expansion

_VERSION = re.compile(r"^train_v(\d+)\.csv$")


class LabelsError(ValueError):
    """Labels that cannot be used; names the file and the rows."""


def label_versions(labels_dir: Path) -> list[tuple[int, Path]]:
    """(version, path) of every exported clean train CSV, oldest first.

    The store's row is the record of a version: a file without one (a crash between an export's
    rename and its commit) is not listed, so it never becomes "latest". Where the store is missing
    or cannot be read, the files are listed as they are (the pages and `workbench check` say why).
    """
    found = exported_versions(Path(labels_dir))
    if not found:
        return []
    try:
        with open_store(Path(labels_dir).parent / "workbench.db", create=False, read_only=True) as connection:
            listed = {n for (n,) in connection.execute("SELECT version FROM label_versions")}
    except (FileNotFoundError, DatabaseError, SaveError):
        return found
    return [(n, p) for n, p in found if n in listed]


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
    nothing_new: bool = False  # the decisions give the newest version again: nothing was written, `path` is it


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
    that differs from train.csv, so each version is train.csv plus its own changes file. train.csv
    is only read.

    Nothing new: when both files would equal the newest version's (no decision since, or only
    decisions that change no label, e.g. a keep), nothing is written and the result is that
    version with nothing_new=True.

    All or nothing, under the store's write lock (N is unique when two exports race, and the
    decisions read are exactly those committed): both CSVs are written (each atomically, temp file
    + rename), then the version's row is inserted and committed. A failure at any step (disk full
    at a file, at the insert, at the commit) deletes the files this export wrote and rolls the row
    back, and leaves as SaveError naming the file. The row is the record of a version
    (`label_versions` lists only files that have one), so a process killed between the rename and
    the commit leaves a file that is never "latest"; the next export takes a number past it.
    """
    train = _read_train(layout)
    try:
        layout.ensure_work_dir()
    except SaveError:
        raise
    except OSError as exc:
        raise SaveError(getattr(exc, "filename", None) or layout.work_dir, exc) from exc
    written: list[Path] = []
    try:
        with open_store(layout.db_path) as connection, write_transaction(connection):
            return _export_locked(connection, layout, train, leave_out_ambiguous, written)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def _export_locked(connection, layout: ProjectLayout, train: pd.DataFrame, leave_out: bool, written: list[Path]):
    """export_version's work inside the write transaction; appends each file it wrote to `written`."""
    settings = layout.settings
    current = current_rows(connection)
    on_disk = [n for n, _ in exported_versions(layout.labels_dir)]
    in_db = connection.execute("SELECT MAX(version) FROM label_versions").fetchone()[0] or 0
    ids, targets = settings.id_column, settings.target_column
    clean = apply_decisions(train, current, id_column=ids, target_column=targets, leave_out_ambiguous=leave_out)
    changes = _changes(train, clean, current, id_column=ids, target_column=targets)
    in_train = current.loc[current["ID"].isin(train[ids])]
    counts = {
        "rows": len(clean),
        "relabeled": int((changes["action"] == "relabel").sum()),
        "dropped": int((changes["action"] == "drop").sum()),
        "ignored": len(current) - len(in_train),
        "ambiguous": int((in_train["action"] == "ambiguous").sum()),
        "ambiguous_left_out": int((changes["action"] == "ambiguous").sum()),
    }
    newest = connection.execute(
        "SELECT version, path, changes_path FROM label_versions ORDER BY version DESC LIMIT 1"
    ).fetchone()
    if newest and _same_as(newest, clean, changes):
        path = Path(newest[1])
        changes_path = Path(newest[2]) if newest[2] else layout.labels_dir / f"changes_v{newest[0]}.csv"
        return ExportResult(newest[0], path, changes_path, **counts, nothing_new=True)
    version = max([in_db, *on_disk]) + 1
    # The train file last: a reader listing the folder finds a train file only beside its changes file.
    for frame, name in ((changes, f"changes_v{version}.csv"), (clean, f"train_v{version}.csv")):
        target = layout.labels_dir / name
        try:
            write_csv_atomic(frame, target)
        except OSError as exc:
            raise SaveError(target, exc) from exc
        written.append(target)
    changes_path, path = written
    connection.execute(
        "INSERT INTO label_versions (version, path, rows, relabeled, dropped, changes_path, decisions_through, "
        "ambiguous, ambiguous_left_out) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            version,
            str(path),
            counts["rows"],
            counts["relabeled"],
            counts["dropped"],
            str(changes_path),
            int(current["decision_id"].max()) if len(current) else 0,
            counts["ambiguous"],
            counts["ambiguous_left_out"],
        ),
    )
    return ExportResult(version, path, changes_path, **counts)


def _same_as(newest: tuple, clean: pd.DataFrame, changes: pd.DataFrame) -> bool:
    """Whether the newest version's files hold `clean` and `changes` (changes compared without source)."""
    version, path, changes_path = newest
    try:
        before = read_csv(Path(path)).frame
    except CsvError:
        return False  # missing or unreadable: a new version is the way to get a readable one
    if list(before.columns) != list(clean.columns) or not before.equals(clean.astype(str).reset_index(drop=True)):
        return False
    if not changes_path:
        return True
    try:
        recorded = read_csv(Path(changes_path), required_columns=tuple(CHANGE_COLUMNS[:4])).frame
    except CsvError:
        return False
    compared = CHANGE_COLUMNS[:4]
    return recorded[compared].equals(changes[compared].astype(str).reset_index(drop=True))


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
    settings = layout.settings
    versions = label_versions(layout.labels_dir)
    if not versions:
        return pd.DataFrame(columns=VERSION_COLUMNS)
    created: dict[int, str] = {}
    if layout.db_path.is_file():
        with open_store(layout.db_path, read_only=True) as connection:
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
