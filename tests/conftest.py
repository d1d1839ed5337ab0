"""Shared fixtures: a per-test WORKBENCH_HOME, a small valid project factory, and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

CLASS_NAMES = ("cat", "dog", "bird")
# One distinct colour per class, so a test can tell which image it is looking at.
CLASS_COLOURS = ((220, 40, 40), (40, 200, 60), (30, 60, 230), (200, 200, 30), (150, 40, 170))


@pytest.fixture(autouse=True)
def workbench_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own per-user settings folder, never the real ~/.local/share/workbench."""
    home = tmp_path_factory.mktemp("workbench_home")
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.setenv("WORKBENCH_WARM_UMAP", "0")  # apps started by tests do not compile UMAP in the background
    monkeypatch.delenv("WORKBENCH_PROJECT", raising=False)
    return home


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """File names whose pixel data PIL decoded (ImageFile.load) during the test, in this process."""
    names: list[str] = []
    original = ImageFile.ImageFile.load

    def load(self):
        names.append(Path(getattr(self, "filename", "") or "").name)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return names


def save_png(path: Path, colour: Sequence[int], *, size: int = 32, seed: int = 0) -> Path:
    """A small RGB PNG: a solid colour with a little seeded noise (so files differ)."""
    rng = np.random.default_rng(seed)
    pixels = np.empty((size, size, 3), dtype=np.int16)
    pixels[:] = np.asarray(colour, dtype=np.int16)
    pixels += rng.integers(-5, 6, size=pixels.shape, dtype=np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB").save(path, format="PNG")
    return path


def _write_text(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_project(
    tmp_path: Path,
    *,
    name: str = "project",
    classes: Sequence[str] = CLASS_NAMES,
    per_class: int = 3,
    test_images: int = 4,
    size: int = 32,
    meta: bool = True,
) -> Path:
    """Write a small valid project under `tmp_path / name` and return its folder.

    train/: `per_class` PNGs per class named `<class>_<n>.png`; train.csv lists them in that order
    (class index order, then n), so row r of the CSV (header = row 1) is image number r - 2.
    test/: `test_images` PNGs `test_<n>.png` listed in sample_submission.csv; meta.csv when `meta`.
    """
    root = tmp_path / name
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    train_lines = ["ID,target"]
    seed = 0
    for target, class_name in enumerate(classes):
        for n in range(per_class):
            image_id = f"{class_name}_{n}.png"
            save_png(root / "train" / image_id, CLASS_COLOURS[target % len(CLASS_COLOURS)], size=size, seed=seed)
            train_lines.append(f"{image_id},{target}")
            seed += 1
    test_lines = ["ID,target"]
    for n in range(test_images):
        image_id = f"test_{n}.png"
        save_png(root / "test" / image_id, CLASS_COLOURS[n % len(classes)], size=size, seed=1000 + n)
        test_lines.append(f"{image_id},0")
    _write_text(root / "train.csv", train_lines)
    _write_text(root / "sample_submission.csv", test_lines)
    if meta:
        _write_text(root / "meta.csv", ["target,class_name"] + [f"{t},{n}" for t, n in enumerate(classes)])
    return root


@pytest.fixture
def make_project() -> Callable[..., Path]:
    """The factory `make_project(tmp_path, *, name, classes, per_class, test_images, size, meta) -> root`."""
    return build_project


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], tuple[int, str, str]]:
    """Run `workbench ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from core.cli import main

    def run(args: list[str]) -> tuple[int, str, str]:
        capsys.readouterr()  # drop anything printed before
        code = main(args)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright, shared by the browser tests."""
    from tests.apphelpers import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        if os.environ.get("WORKBENCH_SKIP_BROWSER") == "1":
            pytest.skip("WORKBENCH_SKIP_BROWSER=1 and no Chromium")
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium or set WORKBENCH_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
