"""core.io.atomic: the one writer every file of the workbench goes through."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from core.io import atomic
from core.io.atomic import atomic_write, current_umask, write_bytes_atomic, write_json_atomic, write_text_atomic

REPO = Path(__file__).resolve().parents[3]


def test_failure_mid_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "status.json"
    path.write_text('{"state": "running"}')
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_write(path, "w") as handle:
            handle.write('{"state": "succ')
            raise RuntimeError("disk full")
    assert path.read_text() == '{"state": "running"}'
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_a_failing_rename_removes_the_temp_file_too(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise OSError("read-only file system")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(OSError, match="read-only"):
        write_bytes_atomic(tmp_path / "weights.safetensors", b"\x00" * 10)
    assert list(tmp_path.iterdir()) == []


def test_the_temp_file_lives_next_to_the_target_with_a_hidden_name(tmp_path):
    path = tmp_path / "oof.csv"
    with atomic_write(path, "w") as handle:
        handle.write("ID\n")
        [temp] = list(tmp_path.iterdir())
        assert temp.name.startswith(".oof.csv.") and temp.name.endswith(".tmp")
        assert not path.exists()  # nothing shows before the block ends
    assert path.read_text() == "ID\n" and not temp.exists()


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_new_files_get_what_open_would_give_under_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        assert current_umask() == mask
        write_text_atomic(tmp_path / "atomic.txt", "x")
        with open(tmp_path / "plain.txt", "w") as handle:
            handle.write("x")
    finally:
        os.umask(old)
    modes = {name: stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("atomic.txt", "plain.txt")}
    assert modes["atomic.txt"] == modes["plain.txt"] == 0o666 & ~mask


def test_json_round_trip_with_values_json_cannot_hold(tmp_path):
    import json

    data = {"state": "succeeded", "progress": 1.0, "nested": {"k": [1, 2]}, "name": "고양이"}
    path = write_json_atomic(tmp_path / "status.json", {**data, "path": tmp_path, "count": np.int64(3)})
    assert json.loads(path.read_text(encoding="utf-8")) == {**data, "path": str(tmp_path), "count": "3"}


def test_text_and_bytes_are_written_exactly(tmp_path):
    assert write_text_atomic(tmp_path / "a.yaml", "a: 1\r\nb: é\n").read_bytes() == "a: 1\r\nb: é\n".encode()
    assert write_bytes_atomic(tmp_path / "b.bin", b"\x00\xff").read_bytes() == b"\x00\xff"
    with atomic_write(tmp_path / "c.npy", "wb", durable=False) as handle:
        np.save(handle, np.arange(3))
    assert np.load(tmp_path / "c.npy").tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(tmp_path / "d.txt", "a"):
            pass


def test_a_missing_folder_is_an_error_not_created(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_text_atomic(tmp_path / "deleted-run" / "status.json", "{}")
    assert not (tmp_path / "deleted-run").exists()


def test_core_has_no_other_temp_file_and_rename():
    """Every file core writes goes through core.io.atomic: no other module renames a temp file into place."""
    offenders = []
    for path in (REPO / "core").rglob("*.py"):
        if path.name == "atomic.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("os.replace(", "mkstemp(", '.tmp"', ".tmp'", ".tmp.", "fsync("):
            if needle in text:
                offenders.append(f"{path.relative_to(REPO)}: {needle}")
    assert offenders == []
