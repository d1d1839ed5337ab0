"""A freshly built demo already holds what the first Overview needs: the image index and every thumbnail."""

from __future__ import annotations

import functools
from pathlib import Path

import core.project.demo
from core.home import ensure_demo_project
from core.project.dataset import load_dataset
from core.project.demo import build_demo
from core.project.imageindex import INDEX_FILE, thumb_file

SMALL = {"per_class": 3, "test_fraction": 0.02}  # ~30 train + ~36 test images: indexed in this process


def _images(root: Path) -> set[str]:
    return {p.name for split in ("train", "test") for p in (root / split).iterdir()}


def _assert_ready(root: Path, decoded: list[str]) -> None:
    index_file = root / ".workbench" / "cache" / INDEX_FILE
    assert index_file.is_file(), "the demo build left no image index"
    decoded.clear()
    data = load_dataset(root, workers=1)  # what the first page view does
    assert decoded == [], f"the first view decoded {len(decoded)} images the demo build should have indexed"
    assert set(data.images["name"]) == _images(root)
    assert (data.images["error"] == "").all()
    thumbs = [Path(thumb_file(t)) for t in data.images["thumb"]]
    assert all(t.is_file() and t.is_relative_to(root / ".workbench" / "cache") for t in thumbs)


def test_build_demo_indexes_the_images_and_writes_the_thumbnails(tmp_path, decoded):
    root = build_demo(tmp_path / "demo", **SMALL).root
    _assert_ready(root, decoded)


def test_build_demo_can_leave_the_indexing_to_the_caller(tmp_path):
    root = build_demo(tmp_path / "demo", index=False, **SMALL).root
    assert not (root / ".workbench").exists()


def test_the_home_demo_is_indexed_where_it_ends_up(monkeypatch, workbench_home, decoded):
    # ensure_demo_project builds in a staging folder and renames it: thumbnails must follow the rename.
    monkeypatch.setattr(core.project.demo, "build_demo", functools.partial(build_demo, **SMALL))
    root = ensure_demo_project()
    assert root == workbench_home / "demo"
    assert not (workbench_home / "demo.building").exists()
    _assert_ready(root, decoded)
