"""Load a project's tables and check them: what `workbench check` reports and every page uses.

`load_dataset(root)` reads train.csv, sample_submission.csv, meta.csv and test_labels.csv, indexes
the images (core.project.imageindex), and returns a `Dataset`: the usable train and test rows, the class
names, and a `CheckReport` of findings. A bad row is excluded and named; the rest stays usable.
A project is unusable only when there is nothing to work with (no train CSV, no label column,
no usable train row).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from core.io.text import shown
from core.project.checks import (
    MESSAGE_WIDTH,
    CheckReport,
    Level,
    attach_paths,
    dedupe,
    drop_empty_ids,
    examples,
    outside_project,
    parse_targets,
    read_table,
    row_numbers,
    unlisted_files,
)
from core.project.imageindex import INDEX_COLUMNS, scan_images
from core.project.layout import ProjectError, ProjectLayout, ProjectSettings, open_layout

if TYPE_CHECKING:  # only the type: core.runs' table of contents imports this module (RunInputs)
    from core.runs.progress import Callbacks


@dataclass
class Dataset:
    """The usable rows of a project.

    train: ID, target (int), path; test: ID, path; classes: target -> class name (K entries,
    targets 0..K-1); test_labels: ID, target for the labelled hold-out, or None; images: the image
    index (core.project.imageindex) of both folders.
    """

    layout: ProjectLayout
    train: pd.DataFrame
    test: pd.DataFrame
    classes: dict[int, str]
    test_labels: pd.DataFrame | None
    images: pd.DataFrame
    report: CheckReport
    encodings: dict[str, str] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_name(self, target: int) -> str:
        return self.classes.get(int(target), str(target))

    def class_label(self, target: int) -> str:
        """How every page names a class: "3 · cat" (see `class_label`)."""
        return class_label(target, self.classes)


def class_label(target: int, classes: Mapping[int, str]) -> str:
    """ "3 · cat": the class index and its name, the one way every page and caption shows a class."""
    return f"{int(target)} · {classes.get(int(target), str(int(target)))}"


def load_dataset(root: str | Path, *, callbacks: Callbacks | None = None, workers: int | None = None) -> Dataset:
    """Read and check a project folder. Never raises for bad content: findings say what is wrong.

    Indexing new images (the slow part) reports through `callbacks.on_progress` (step = images done).
    """
    try:
        layout = open_layout(root)
    except ProjectError as exc:
        report = CheckReport(root=Path(root))
        report.add("error", "project", str(exc))
        empty = pd.DataFrame(columns=["ID", "target", "path"])
        layout = ProjectLayout(root=Path(root), settings=ProjectSettings())
        return Dataset(
            layout, empty, empty.drop(columns="target"), {}, None, pd.DataFrame(columns=INDEX_COLUMNS), report
        )

    report = CheckReport(root=layout.root)
    outside_project(report, layout)
    encodings: dict[str, str] = {}
    index = _index_images(layout, report, callbacks=callbacks, workers=workers)
    classes = _read_classes(layout, report, encodings)
    train, classes = _read_train(layout, report, encodings, index=index, classes=classes)
    test = _read_test(layout, report, encodings, index=index)
    test_labels = _read_test_labels(layout, report, encodings, test_ids=set(test["ID"]), classes=classes)
    return Dataset(
        layout=layout,
        train=train,
        test=test,
        classes=classes,
        test_labels=test_labels,
        images=index,
        report=report,
        encodings=encodings,
    )


def _index_images(
    layout: ProjectLayout, report: CheckReport, *, callbacks: Callbacks | None, workers: int | None
) -> pd.DataFrame:
    """The image index (core.project.imageindex) of the train and test folders that exist; missing ones reported."""
    for folder, split in ((layout.train_dir, "train"), (layout.test_dir, "test")):
        if not folder.is_dir():
            level: Level = "error" if split == "train" else "warning"
            report.add(
                level, "missing_folder", f"{folder.name}/: image folder not found in {layout.root}", file=folder.name
            )

    index = pd.DataFrame(columns=INDEX_COLUMNS)
    if not layout.train_csv.is_file():
        return index  # not a project (e.g. /etc, a source tree): nothing is written into it; the findings say why
    try:
        layout.ensure_work_dir()
    except OSError as exc:
        report.add(
            "error",
            "work_dir",
            f"{layout.work_dir}: cannot be created ({exc}); the workbench writes only there",
            file=".workbench",
        )
        return index
    folders = [
        (split, folder) for split, folder in (("train", layout.train_dir), ("test", layout.test_dir)) if folder.is_dir()
    ]
    try:
        index = scan_images(
            folders,
            layout.cache_dir,
            max_pixels=layout.settings.max_image_pixels,
            workers=workers,
            callbacks=callbacks,
            root=layout.root,
        )
    except OSError as exc:
        report.add("error", "scan", f"images could not be indexed: {exc}")
    return index


def _read_classes(layout: ProjectLayout, report: CheckReport, encodings: dict[str, str]) -> dict[int, str]:
    """target -> class name from meta.csv ({} without one, or when it is unreadable)."""
    s = layout.settings
    if not layout.meta_csv.is_file():
        return {}
    meta = read_table(
        report,
        layout.meta_csv,
        required=(s.target_column, s.class_name_column),
        encoding=s.encoding,
        encodings=encodings,
        level="warning",
    )
    if meta is None or not len(meta):
        return {}
    meta = parse_targets(report, meta, s.target_column, layout.meta_csv.name)
    meta = dedupe(report, meta, s.target_column, layout.meta_csv.name)
    classes = {int(t): str(n) for t, n in zip(meta[s.target_column], meta[s.class_name_column], strict=True)}
    if set(classes) != set(range(len(classes))):
        report.add(
            "warning",
            "meta_targets",
            f"{layout.meta_csv.name}: targets should be 0..{len(classes) - 1}; found "
            f"{examples([str(t) for t in sorted(classes)])}",
            file=layout.meta_csv.name,
        )
    return classes


def _read_train(
    layout: ProjectLayout,
    report: CheckReport,
    encodings: dict[str, str],
    *,
    index: pd.DataFrame,
    classes: dict[int, str],
) -> tuple[pd.DataFrame, dict[int, str]]:
    """(usable train rows: ID, target, path; the classes, inferred from the labels when meta.csv gave none)."""
    s = layout.settings
    name = layout.train_csv.name
    train_raw = read_table(
        report, layout.train_csv, required=(s.id_column, s.target_column), encoding=s.encoding, encodings=encodings
    )
    train = pd.DataFrame(columns=["ID", "target", "path"])
    if train_raw is None:
        return train, classes
    if len(train_raw) == 0:
        report.add("error", "empty_csv", f"{name}: has a header but no rows", file=name)
        return train, classes
    frame = drop_empty_ids(report, train_raw, s.id_column, name)
    frame = dedupe(report, frame, s.id_column, name)
    listed = frame.rename(columns={s.id_column: "ID"})  # every image train.csv names, usable or not
    frame = parse_targets(report, frame, s.target_column, name)
    frame, classes = _usable_labels(layout, report, frame, classes)
    frame = frame.rename(columns={s.id_column: "ID", s.target_column: "target"})[["ID", "target"]]
    train = attach_paths(report, frame, id_col="ID", split="train", layout=layout, index=index, file=name)
    unlisted_files(report, index, listed, split="train", id_col="ID", folder=layout.train_dir.name, file=name)
    if len(train) == 0:
        report.add("error", "no_usable_rows", f"{name}: no usable train row remains")
    elif classes:
        absent = sorted(set(classes) - set(train["target"]))
        if absent:
            report.add(
                "warning",
                "class_without_images",
                f"{len(absent)} class(es) have no usable train image: "
                f"{examples([f'{c} ({classes[c]})' for c in absent])}",
            )
    return train, classes


def _usable_labels(
    layout: ProjectLayout, report: CheckReport, frame: pd.DataFrame, classes: dict[int, str]
) -> tuple[pd.DataFrame, dict[int, str]]:
    """Train rows whose label meta.csv knows; without meta.csv, the non-negative ones and the classes they imply."""
    id_col, target_col, name = layout.settings.id_column, layout.settings.target_column, layout.train_csv.name
    if classes:
        unknown = ~frame[target_col].isin(list(classes))
        if unknown.any():
            rows = row_numbers(frame, unknown)
            values = sorted({str(v) for v in frame.loc[unknown, target_col]})
            named = [
                f"row {r}: {i} -> {t}"
                for r, i, t in zip(rows, frame.loc[unknown, id_col], frame.loc[unknown, target_col], strict=True)
            ]
            report.add(
                "warning",
                "label_not_in_meta",
                f"{name}: {int(unknown.sum())} row(s) have labels not in {layout.meta_csv.name} "
                f"({examples(values)}); excluded: {examples(named)}",
                file=name,
                items=rows,
            )
            frame = frame.loc[~unknown]
        return frame, classes
    negative = frame[target_col] < 0
    if negative.any():
        report.add(
            "warning",
            "label_negative",
            f"{name}: {int(negative.sum())} negative label(s) excluded (rows {examples(row_numbers(frame, negative))})",
            file=name,
        )
        frame = frame.loc[~negative]
    if len(frame):
        k = int(frame[target_col].max()) + 1
        classes = {i: str(i) for i in range(k)}
        report.add(
            "info", "no_meta", f"no {layout.meta_csv.name}: {k} classes (0..{k - 1}) inferred from the train labels"
        )
    return frame, classes


def _read_test(
    layout: ProjectLayout, report: CheckReport, encodings: dict[str, str], *, index: pd.DataFrame
) -> pd.DataFrame:
    """Usable test rows (ID, path) from sample_submission.csv; an empty frame without one."""
    s = layout.settings
    name = layout.test_csv.name
    test = pd.DataFrame(columns=["ID", "path"])
    if not layout.test_csv.is_file():
        report.add(
            "warning",
            "missing_file",
            f"{name} not found: no test set (test galleries and predictions unavailable)",
            file=name,
        )
        return test
    frame = read_table(
        report, layout.test_csv, required=(s.id_column,), encoding=s.encoding, encodings=encodings, level="warning"
    )
    if frame is None:
        return test
    if len(frame) == 0:
        report.add("warning", "empty_csv", f"{name}: has a header but no rows", file=name)
    frame = drop_empty_ids(report, frame, s.id_column, name)
    frame = dedupe(report, frame, s.id_column, name)
    frame = frame.rename(columns={s.id_column: "ID"})[["ID"]]
    test = attach_paths(report, frame, id_col="ID", split="test", layout=layout, index=index, file=name)
    unlisted_files(report, index, frame, split="test", id_col="ID", folder=layout.test_dir.name, file=name)
    return test


def _read_test_labels(
    layout: ProjectLayout,
    report: CheckReport,
    encodings: dict[str, str],
    *,
    test_ids: set[str],
    classes: Mapping[int, str],
) -> pd.DataFrame | None:
    """The labelled hold-out (ID, target) restricted to usable test IDs and to the project's classes
    (a target outside them could never be predicted and would fail every test metric); None without
    test_labels.csv."""
    s = layout.settings
    name = layout.test_labels_csv.name
    if not layout.test_labels_csv.is_file():
        return None
    labels = read_table(
        report,
        layout.test_labels_csv,
        required=(s.id_column, s.target_column),
        encoding=s.encoding,
        encodings=encodings,
        level="warning",
    )
    if labels is None or not len(labels):
        return None
    labels = drop_empty_ids(report, labels, s.id_column, name)
    labels = dedupe(report, labels, s.id_column, name)
    labels = parse_targets(report, labels, s.target_column, name)
    labels = labels.rename(columns={s.id_column: "ID", s.target_column: "target"})[["ID", "target"]]
    unknown = ~labels["ID"].isin(test_ids)
    if unknown.any():
        ids = list(labels.loc[unknown, "ID"])
        report.add(
            "warning",
            "unknown_id",
            f"{name}: {len(ids)} ID(s) are not usable test IDs; ignored: {examples(ids)}",
            file=name,
            items=ids,
        )
    not_a_class = ~labels["target"].isin(list(classes)) & ~unknown if classes else pd.Series(False, index=labels.index)
    if not_a_class.any():
        rows = row_numbers(labels, not_a_class)
        named = [
            f"row {r}: {i} -> {v}"
            for r, i, v in zip(rows, labels.loc[not_a_class, "ID"], labels.loc[not_a_class, "target"], strict=True)
        ]
        report.add(
            "warning",
            "label_not_a_class",
            f"{name}: {len(rows)} label(s) are not classes of this project (0..{max(classes)}); "
            f"ignored: {examples(named)}",
            file=name,
            items=rows,
        )
    return labels.loc[~unknown & ~not_a_class].reset_index(drop=True)


def format_report(dataset: Dataset) -> str:
    """The plain-text report `workbench check` prints: each finding on one line, cut and escaped."""
    report = dataset.report
    lines = [f"Project: {shown(report.root, 300)}"]
    if dataset.layout.train_csv.exists() or len(dataset.train):
        lines.append(f"  train: {len(dataset.train):,} usable images")
        lines.append(f"  test:  {len(dataset.test):,} usable images")
        if dataset.classes:
            lines.append(f"  classes: {len(dataset.classes)}")
        if dataset.test_labels is not None:
            lines.append(f"  labelled test hold-out: {len(dataset.test_labels):,} rows (test metrics enabled)")
    symbols = {"error": "ERROR  ", "warning": "WARNING", "info": "INFO   "}
    for level in ("error", "warning", "info"):
        for finding in (f for f in report.findings if f.level == level):
            lines.append(f"{symbols[level]} {shown(finding.message, MESSAGE_WIDTH)}")
    if report.usable:
        lines.append(f"Result: usable ({len(report.warnings)} warning(s))")
    else:
        lines.append(f"Result: NOT usable ({len(report.errors)} error(s)); fix the errors above and run check again")
    return "\n".join(lines)


def dataset_fingerprint(root: str | Path) -> tuple:
    """Cheap stamp of what `load_dataset` reads: CSVs, settings and image folders (size, mtime).

    Folder mtimes change when files are added, removed or renamed; an image rewritten in place
    under the same name is picked up by a rescan (core.project.imageindex keys files by size and mtime).
    """
    try:
        layout = open_layout(root)
    except ProjectError:
        return ("missing", str(root))
    stamp = []
    for path in (
        layout.root / "workbench.toml",
        layout.train_csv,
        layout.test_csv,
        layout.meta_csv,
        layout.test_labels_csv,
        layout.train_dir,
        layout.test_dir,
    ):
        try:
            st = path.stat()
            stamp.append((path.name, st.st_size, st.st_mtime_ns))
        except OSError:
            stamp.append((path.name, None, None))
    return tuple(stamp)
