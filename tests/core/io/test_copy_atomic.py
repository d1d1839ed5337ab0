"""copy_file_atomic: a file copied whole or not at all, with the sha256 of what was written."""

from __future__ import annotations

import hashlib

import pytest

from core.io.atomic import copy_file_atomic


def test_copies_the_bytes_and_returns_their_sha256(tmp_path):
    source = tmp_path / "weights.bin"
    source.write_bytes(bytes(range(256)) * 5000)
    target = tmp_path / "out" / "weights.bin"
    target.parent.mkdir()
    digest = copy_file_atomic(source, target)
    assert target.read_bytes() == source.read_bytes()
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()
    assert [p.name for p in target.parent.iterdir()] == ["weights.bin"]  # no temp file left


def test_a_failed_copy_leaves_the_target_untouched(tmp_path):
    target = tmp_path / "kept.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(FileNotFoundError):
        copy_file_atomic(tmp_path / "missing.bin", target)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]
