"""Import a class-per-subfolder dataset (torchvision's ImageFolder layout) as a competition project.

Accepted sources:
    SRC/<class>/<image>                         every image becomes train
    SRC/train/<class>/<image> [+ SRC/test/...]  test either as SRC/test/<class>/<image> (labelled:
                                                written to test_labels.csv too) or SRC/test/<image>

Classes are the train subfolder names in sorted order; meta.csv maps index -> folder name. Images
are copied (the source is never changed) under collision-free names `<class>__<file name>`.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.io.csvfile import write_csv_atomic
from core.io.images import is_image_file

# A folder named "test" among flat class folders is left out, and named in `skipped`: it is more
# likely a test set than a class, but without SRC/train/ it cannot be told from one.
FLAT_TEST = "test"


@dataclass(frozen=True)
class ImportSummary:
    root: Path
    classes: list[str]
    train_images: int
    test_images: int
    test_labelled: bool
    skipped: list[str]


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z._-]+", "-", text).strip("-") or "class"


def _class_dirs(folder: Path) -> list[Path]:
    return sorted((d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")), key=lambda d: d.name)


def _images_below(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".") and is_image_file(p))


def _copy(files: list[Path], dest: Path, prefix: str, used: set[str]) -> list[str]:
    ids = []
    for source in files:
        name = f"{prefix}{source.name}" if prefix else source.name
        stem, suffix, n = Path(name).stem, Path(name).suffix, 1
        while name in used:
            n += 1
            name = f"{stem}-{n}{suffix}"
        used.add(name)
        shutil.copy2(source, dest / name)
        ids.append(name)
    return ids


def import_folder(source: str | Path, out: str | Path) -> ImportSummary:
    """Write a competition-layout project into `out` (absent or empty) from an ImageFolder tree."""
    src = Path(source).expanduser().resolve()
    root = Path(out).expanduser()
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: source folder not found")
    if root.exists() and not root.is_dir():
        raise FileExistsError(f"{root}: exists and is not a folder; choose a new folder for the project")
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root}: output folder is not empty")
    train_src = src / "train" if (src / "train").is_dir() and _class_dirs(src / "train") else src
    test_src = src / "test" if train_src != src and (src / "test").is_dir() else None
    class_dirs = [d for d in _class_dirs(train_src) if d.name != "test" or train_src != src]
    classes = [d.name for d in class_dirs if _images_below(d)]
    if not classes:
        raise ValueError(f"{train_src}: no class subfolders with images found (expected <class>/<image> files)")
    (root / "train").mkdir(parents=True, exist_ok=True)
    skipped = [str(p.relative_to(src)) for p in train_src.iterdir() if p.is_file()]
    if train_src == src and (src / "test").is_dir():  # SRC/<class> beside SRC/test: neither a class nor the test set
        skipped.append(FLAT_TEST)

    used: set[str] = set()
    train_rows = []
    for target, name in enumerate(classes):
        ids = _copy(_images_below(train_src / name), root / "train", f"{_slug(name)}__", used)
        train_rows += [(i, target) for i in ids]
    write_csv_atomic(pd.DataFrame(train_rows, columns=["ID", "target"]), root / "train.csv")
    write_csv_atomic(pd.DataFrame({"target": range(len(classes)), "class_name": classes}), root / "meta.csv")

    test_rows: list[tuple[str, int]] = []
    labelled = False
    if test_src is not None:
        (root / "test").mkdir(exist_ok=True)
        used_test: set[str] = set()
        test_class_dirs = [d for d in _class_dirs(test_src) if d.name in classes]
        if test_class_dirs:
            labelled = True
            for d in test_class_dirs:
                ids = _copy(_images_below(d), root / "test", f"{_slug(d.name)}__", used_test)
                test_rows += [(i, classes.index(d.name)) for i in ids]
            skipped += [str(d.relative_to(src)) for d in _class_dirs(test_src) if d.name not in classes]
        else:
            ids = _copy(
                [p for p in sorted(test_src.iterdir()) if p.is_file() and is_image_file(p)],
                root / "test",
                "",
                used_test,
            )
            test_rows = [(i, 0) for i in ids]
        write_csv_atomic(pd.DataFrame({"ID": [i for i, _ in test_rows], "target": 0}), root / "sample_submission.csv")
        if labelled:
            write_csv_atomic(pd.DataFrame(test_rows, columns=["ID", "target"]), root / "test_labels.csv")
    return ImportSummary(
        root=root.resolve(),
        classes=classes,
        train_images=len(train_rows),
        test_images=len(test_rows),
        test_labelled=labelled,
        skipped=skipped,
    )
