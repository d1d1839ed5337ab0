"""Shared fixtures: a per-test WORKBENCH_HOME, a small valid project factory, and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import ImageFile

from tests.support.builders import build_project


@pytest.fixture(autouse=True)
def workbench_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own per-user settings folder, never the real ~/.local/share/workbench."""
    home = tmp_path_factory.mktemp("workbench_home")
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.setenv("WORKBENCH_WARM_UMAP", "0")  # apps started by tests do not compile UMAP in the background
    monkeypatch.setenv("WORKBENCH_WARM_PAGES", "0")  # nor import the other pages' modules in a second thread
    monkeypatch.delenv("WORKBENCH_PROJECT", raising=False)
    return home


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """File names whose pixel data PIL decoded (ImageFile.load) during the test, in this process."""
    names: list[str] = []
    original = ImageFile.ImageFile.load

    def load(self):
        # core.io.images hands PIL an open file (never the path), named after the path it opened
        names.append(Path(str(getattr(self, "filename", "") or getattr(self.fp, "name", "") or "")).name)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return names


@pytest.fixture
def make_project() -> Callable[..., Path]:
    """The factory `make_project(tmp_path, *, name, classes, per_class, test_images, size, meta) -> root`."""
    return build_project


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], tuple[int, str, str]]:
    """Run `workbench ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from core.cli.commands import main

    def run(args: list[str]) -> tuple[int, str, str]:
        capsys.readouterr()  # drop anything printed before
        code = main(args)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright, shared by the browser tests."""
    from tests.support.apphelpers import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        if os.environ.get("WORKBENCH_SKIP_BROWSER") == "1":
            pytest.skip("WORKBENCH_SKIP_BROWSER=1 and no Chromium")
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium or set WORKBENCH_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def layout(tmp_path: Path, make_project: Callable[..., Path]):
    """The ProjectLayout of a fresh small project, with its .workbench/ created."""
    from core.project.layout import open_layout

    layout = open_layout(make_project(tmp_path))
    layout.ensure_work_dir()
    return layout
