"""Fixtures of the recipe tests: a project layout in a temporary folder, an image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.project.layout import ProjectLayout, open_layout


@pytest.fixture
def bare_layout(tmp_path: Path) -> ProjectLayout:
    """A project folder with an empty train.csv (a recipe store needs nothing else; without the CSV it is
    not a project and the workbench writes nothing into it)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "train.csv").write_text("ID,target\n")
    return open_layout(root)


@pytest.fixture
def photo() -> np.ndarray:
    """A 40 x 56 RGB uint8 image with structure (a bright block on a gradient), the same every time."""
    image = np.zeros((40, 56, 3), dtype=np.uint8)
    image[...] = np.linspace(30, 200, 56, dtype=np.uint8)[None, :, None]
    image[5:20, 8:30] = (250, 240, 40)
    return image
