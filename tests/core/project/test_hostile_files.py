"""Hostile project folders: FIFOs and symlink loops named like images, images that are small on disk
but huge decoded, CSV cells of megabytes, IDs with terminal escapes, and workbench.toml paths that
leave the project. Each must be reported (short, escaped) and never hang, crash or be read.

The default project (conftest.build_project) has classes cat, dog, bird with 3 images each and 4 test images.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import core.io.images as images
from core.io.images import ImageError, open_rgb, read_header
from core.project.checks import Finding
from core.project.dataset import Dataset, load_dataset
from core.project.imageindex import scan_images

ESCAPE = "\x1b[31m"


def _append_train(root: Path, *rows: str) -> None:
    with open(root / "train.csv", "a", encoding="utf-8", newline="") as handle:
        handle.write("".join(f"{row}\n" for row in rows))


def _finishes(call: Callable[[], object], *, fifos: tuple[Path, ...] = (), timeout: float = 20.0) -> object:
    """`call()` run in a thread that must finish within `timeout` s; a reader stuck opening one of
    `fifos` is released (a writer opens it) so the failing test does not hang the suite."""
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread below
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        for fifo in fifos:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        thread.join(5)
        pytest.fail(f"did not finish within {timeout} s (blocked opening a FIFO?)")
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]


def _load(root: Path, **fifos) -> Dataset:
    return _finishes(lambda: load_dataset(root, workers=1), **fifos)  # type: ignore[return-value]


def _only(dataset: Dataset, code: str) -> Finding:
    found = [f for f in dataset.report.findings if f.code == code]
    assert len(found) == 1, f"expected one {code!r} finding, got {dataset.report.findings}"
    return found[0]


def _codes(dataset: Dataset) -> list[str]:
    return sorted(f.code for f in dataset.report.findings)


# --- files that are not regular files --------------------------------------------------------------


def test_a_fifo_named_like_an_image_is_reported_never_opened_and_check_finishes(tmp_path, make_project, run_cli):
    root = make_project(tmp_path)
    fifo = root / "train" / "a.png"
    os.mkfifo(fifo)
    _append_train(root, "a.png,0")
    dataset = _load(root, fifos=(fifo,))
    finding = _only(dataset, "corrupt_image")
    assert finding.items == ("train/a.png: not a regular file (a FIFO); not read",)
    assert len(dataset.train) == 9 and dataset.report.usable
    code, out, err = _finishes(lambda: run_cli(["check", "--project", str(root)]), fifos=(fifo,))
    assert code == 0 and "train/a.png: not a regular file (a FIFO); not read" in out
    assert "Traceback" not in out + err


def test_the_image_index_lists_a_fifo_a_socket_and_a_folder_named_like_images_as_errors(tmp_path):
    import socket

    train = tmp_path / "train"
    train.mkdir()
    Image.new("RGB", (8, 8)).save(train / "good.png")
    os.mkfifo(train / "pipe.jpg")
    (train / "folder.png").mkdir()
    Image.new("RGB", (8, 8)).save(train / "folder.png" / "inner.png")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(train / "sock.png"))
        index = _finishes(
            lambda: scan_images([("train", train)], tmp_path / "cache", workers=1), fifos=(train / "pipe.jpg",)
        )
    errors = dict(zip(index["name"], index["error"], strict=True))
    assert errors == {
        "folder.png": "train/folder.png: not a regular file (a folder); not read",
        "good.png": "",
        "pipe.jpg": "train/pipe.jpg: not a regular file (a FIFO); not read",
        "sock.png": "train/sock.png: not a regular file (a socket); not read",
    }


def test_open_rgb_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match=r"x\.png: not a regular file \(a FIFO\)"):
        _finishes(lambda: open_rgb(fifo), fifos=(fifo,))
    with pytest.raises(ImageError, match=r"not a regular file \(a folder\)"):
        read_header(tmp_path)


def test_symlink_loops_and_links_to_non_regular_files_are_reported_not_crashed_on(tmp_path, make_project, run_cli):
    root = make_project(tmp_path)
    train = root / "train"
    os.symlink("loop.png", train / "loop.png")  # points at itself
    os.symlink("ping.png", train / "pong.png")
    os.symlink("pong.png", train / "ping.png")
    os.mkfifo(root / "pipe")
    os.symlink(root / "pipe", train / "piped.png")  # inside the project, but not a regular file
    os.symlink("/dev/zero", train / "zero.png")  # a device outside the project
    _append_train(root, "loop.png,0", "ping.png,1", "piped.png,2", "zero.png,0")
    dataset = _load(root, fifos=(root / "pipe",))
    errors = dict(zip(dataset.images["name"], dataset.images["error"], strict=True))
    assert errors["loop.png"] == "train/loop.png: a symlink loop; not read"
    assert errors["ping.png"] == "train/ping.png: a symlink loop; not read"
    assert errors["piped.png"] == "train/piped.png: not a regular file (a FIFO); not read"
    assert errors["zero.png"].startswith("train/zero.png: a symlink to /dev/zero, outside the project")
    assert len(dataset.train) == 9 and dataset.report.usable
    code, out, err = _finishes(lambda: run_cli(["check", "--project", str(root)]), fifos=(root / "pipe",))
    assert code == 0 and "train/loop.png: a symlink loop" in out
    assert "Traceback" not in out + err


# --- decoded memory --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sixteen_bit_png(tmp_path_factory) -> Path:
    """A 7000x7000 16-bit grey PNG of zeros: under the pixel limit, a few hundred KB on disk, >1 GB to decode."""
    path = tmp_path_factory.mktemp("big") / "deep.png"
    Image.fromarray(np.zeros((7000, 7000), dtype=np.uint16)).save(path, compress_level=1)
    return path


def test_a_small_16_bit_7000x7000_png_is_refused_before_decoding(sixteen_bit_png, decoded):
    assert sixteen_bit_png.stat().st_size < 5_000_000
    with pytest.raises(ImageError) as raised:
        open_rgb(sixteen_bit_png)
    message = str(raised.value)
    assert message.startswith(f"{sixteen_bit_png}: 7000x7000 I;16 needs about ")
    assert f"to decode, over the limit of {images.MAX_DECODED_BYTES // 2**20:,} MB" in message
    assert "deep.png" not in decoded
    with pytest.raises(ImageError, match="to decode, over the limit"):
        read_header(sixteen_bit_png)


def test_the_index_reports_an_image_too_large_to_decode(sixteen_bit_png, tmp_path, make_project, decoded):
    root = make_project(tmp_path)
    shutil.copy(sixteen_bit_png, root / "train" / "deep.png")
    _append_train(root, "deep.png,0")
    dataset = _load(root)
    (item,) = _only(dataset, "corrupt_image").items
    assert item.startswith("train/deep.png: 7000x7000 I;16 needs about ") and "over the limit" in item
    assert "deep.png" not in decoded
    assert len(dataset.train) == 9


def test_a_cached_index_row_is_rechecked_against_the_decode_limit(tmp_path, make_project, monkeypatch):
    """An image indexed as usable before the limit existed is refused on the next load, not trusted."""
    root = make_project(tmp_path)
    assert len(_load(root).train) == 9
    monkeypatch.setattr(images, "MAX_DECODED_BYTES", 32 * 32 * 7)  # RGB needs 8 bytes a pixel
    dataset = _load(root)
    assert len(dataset.train) == 0 and "over the limit" in _only(dataset, "corrupt_image").items[0]


# --- echoing values --------------------------------------------------------------------------------


def test_check_echoes_huge_cells_and_escape_codes_short_and_escaped(tmp_path, make_project, run_cli):
    root = make_project(tmp_path)
    huge = "x" * 2_000_000
    Image.new("RGB", (8, 8)).save(root / "train" / f"{ESCAPE}stray.png")
    _append_train(root, f"{huge}.png,0", f"{ESCAPE}red.png,1", f"cat_0b.png,{huge}", f"{ESCAPE}.png,{ESCAPE}")
    (root / "meta.csv").write_text(f"target,class_name\n0,cat\n1,dog\n2,bird\n{huge},{ESCAPE}x\n")
    code, out, err = run_cli(["check", "--project", str(root)])
    assert code == 0 and "Traceback" not in out + err
    assert len(out) < 6_000, f"check printed {len(out):,} characters"
    assert max(len(line) for line in out.splitlines()) < 1_000
    assert "\x1b" not in out + err
    assert "\\x1b[31mred.png" in out and "\\x1b[31mstray.png" in out
    assert "xxxxxxxxxx..." in out


def test_a_project_folder_name_with_escape_codes_is_echoed_escaped(tmp_path, make_project, run_cli):
    root = make_project(tmp_path, name=f"evil{ESCAPE}")
    _append_train(root, "ghost.png,0")
    code, out, _ = run_cli(["check", "--project", str(root)])
    assert "\x1b" not in out and "evil\\x1b[31m" in out


# --- workbench.toml paths outside the project ------------------------------------------------------


def _outside_train(tmp_path: Path, root: Path) -> Path:
    outside = tmp_path / "elsewhere"
    shutil.move(root / "train", outside)
    return outside


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ('train_dir = "../elsewhere"', "train_dir"),
        ("train_dir = '{outside}'", "train_dir"),
        ('[project]\ntest_csv = "../sample.csv"', "test_csv"),
    ],
)
def test_toml_paths_outside_the_project_are_refused_naming_key_and_value(tmp_path, make_project, run_cli, setting, key):
    root = make_project(tmp_path)
    outside = _outside_train(tmp_path, root)
    shutil.copy(root / "sample_submission.csv", tmp_path / "sample.csv")
    setting = setting.format(outside=outside)
    (root / "workbench.toml").write_text(setting + "\n")
    value = setting.split("=", 1)[1].strip().strip("'\"")
    dataset = _load(root)
    assert not dataset.report.usable and len(dataset.train) == 0
    message = _only(dataset, "project").message
    assert f"{key} = {value!r} resolves outside the project" in message
    assert "allow_outside = true" in message
    code, out, _ = run_cli(["check", "--project", str(root)])
    assert code == 1 and f"{key} = {value!r} resolves outside the project" in out


def test_a_symlinked_image_folder_outside_the_project_is_refused_without_the_opt_in(tmp_path, make_project):
    root = make_project(tmp_path)
    outside = _outside_train(tmp_path, root)
    os.symlink(outside, root / "train", target_is_directory=True)
    dataset = _load(root)
    assert "train_dir = 'train' resolves outside the project" in _only(dataset, "project").message


def test_allow_outside_admits_outside_paths_and_check_lists_them(tmp_path, make_project, run_cli):
    root = make_project(tmp_path)
    outside = _outside_train(tmp_path, root)
    (root / "workbench.toml").write_text('allow_outside = true\ntrain_dir = "../elsewhere"\n')
    dataset = _load(root)
    assert len(dataset.train) == 9 and dataset.report.usable
    finding = _only(dataset, "outside_project")
    assert finding.level == "warning" and finding.items == (f"train_dir = {str(outside.resolve())!r}",)
    code, out, _ = run_cli(["check", "--project", str(root)])
    assert code == 0
    assert (
        "WARNING workbench.toml: allow_outside = true; read from outside the project: "
        f"train_dir = {str(outside.resolve())!r}" in out
    )


def test_allow_outside_must_be_a_boolean(tmp_path, make_project):
    root = make_project(tmp_path)
    (root / "workbench.toml").write_text('allow_outside = "yes"\n')
    assert "allow_outside must be a bool, got 'yes'" in _only(_load(root), "project").message
