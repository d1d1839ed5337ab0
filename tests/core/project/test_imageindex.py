"""core.project.imageindex: the cached scan of the image folders, with thumbnails."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

import core.project.imageindex as imageindex
from core.project.imageindex import read_thumbnail, scan_images, thumb_file
from tests.support.builders import noise_image, rotated_jpeg

# --- the image index ---------------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path):
    train, test = tmp_path / "train", tmp_path / "test"
    train.mkdir()
    test.mkdir()
    for n in range(3):
        noise_image(64, seed=n).save(train / f"img_{n}.png")
    noise_image(300, seed=9).save(train / "large.jpg", quality=90)
    rotated_jpeg(train / "rotated.jpg")
    (train / "sub").mkdir()
    noise_image(32, seed=7).save(train / "sub" / "nested.png")
    (train / "notes.txt").write_text("not an image")
    (train / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    noise_image(40, seed=8).save(test / "t_0.png")
    return [("train", train), ("test", test)]


def _count_process(monkeypatch) -> list[str]:
    calls: list[str] = []
    original = imageindex._process

    def counting(job):
        calls.append(f"{job.split}/{job.name}")
        return original(job)

    monkeypatch.setattr(imageindex, "_process", counting)
    return calls


def test_scan_lists_every_image_with_upright_size_and_a_thumbnail(tmp_path, folders):
    index = scan_images(folders, tmp_path / "cache", workers=1).set_index(["split", "name"])
    assert sorted(index.index) == [
        ("test", "t_0.png"),
        ("train", "broken.jpg"),
        ("train", "img_0.png"),
        ("train", "img_1.png"),
        ("train", "img_2.png"),
        ("train", "large.jpg"),
        ("train", "rotated.jpg"),
        ("train", "sub/nested.png"),
    ]
    assert tuple(index.loc[("train", "rotated.jpg"), ["width", "height"]]) == (20, 40)
    assert tuple(index.loc[("train", "large.jpg"), ["width", "height"]]) == (300, 300)
    assert tuple(index.loc[("train", "img_0.png"), ["width", "height", "mode", "format"]]) == (64, 64, "RGB", "PNG")
    broken = index.loc[("train", "broken.jpg")]
    assert broken["error"].startswith("train/broken.jpg: ") and broken["thumb"] == ""
    usable = index.loc[index["error"] == ""]
    assert len(usable) == 7
    for thumb in usable["thumb"]:
        with Image.open(io.BytesIO(read_thumbnail(thumb))) as image:
            assert image.format == "JPEG" and max(image.size) <= 160
    with Image.open(io.BytesIO(read_thumbnail(index.loc[("train", "rotated.jpg"), "thumb"]))) as thumb:
        assert thumb.size[1] > thumb.size[0]  # the thumbnail is upright too
    assert len({thumb_file(t) for t in usable["thumb"]}) == 1  # seven thumbnails, one file


def test_second_scan_decodes_nothing_and_a_rewritten_file_gets_a_new_thumbnail(tmp_path, folders, monkeypatch):
    cache = tmp_path / "cache"
    first = scan_images(folders, cache, workers=1)
    calls = _count_process(monkeypatch)
    second = scan_images(folders, cache, workers=1)
    assert calls == []
    assert second.equals(first)

    target = folders[0][1] / "img_1.png"
    old_thumb = first.set_index("name").loc["img_1.png", "thumb"]
    noise_image(50, seed=42).save(target)
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    third = scan_images(folders, cache, workers=1).set_index("name")
    assert calls == ["train/img_1.png"]
    assert third.loc["img_1.png", "thumb"] != old_thumb
    assert Path(thumb_file(third.loc["img_1.png", "thumb"])).is_file()
    assert tuple(third.loc["img_1.png", ["width", "height"]]) == (50, 50)


def test_a_deleted_thumbnail_pack_is_rebuilt_and_a_removed_file_leaves_the_index(tmp_path, folders, monkeypatch):
    monkeypatch.setattr(imageindex, "PACK_IMAGES", 3)
    cache = tmp_path / "cache"
    first = scan_images(folders, cache, workers=1).set_index(["split", "name"])
    pack = thumb_file(first.loc[("train", "img_0.png"), "thumb"])
    in_pack = sorted(f"{s}/{n}" for (s, n), t in first["thumb"].items() if t and thumb_file(t) == pack)
    Path(pack).unlink()
    (folders[0][1] / "img_2.png").unlink()
    calls = _count_process(monkeypatch)
    again = scan_images(folders, cache, workers=1).set_index("name")
    assert sorted(calls) == [n for n in in_pack if n != "train/img_2.png"]  # that pack's images, no other
    assert Path(thumb_file(again.loc["img_0.png", "thumb"])).is_file()
    assert "img_2.png" not in again.index
    assert len(scan_images(folders, cache, workers=1)) == len(first) - 1


def test_a_pack_no_row_uses_is_removed_once_it_is_stale(tmp_path, folders, monkeypatch):
    cache = tmp_path / "cache"
    first = scan_images(folders, cache, workers=1).set_index("name")
    old = Path(thumb_file(first.loc["img_1.png", "thumb"]))
    target = folders[0][1] / "img_1.png"
    noise_image(50, seed=42).save(target)
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 5_000_000_000))
    scan_images(folders, cache, workers=1)
    assert old.is_file()  # still used by the other images' rows
    (folders[0][1] / "img_0.png").unlink()
    for name in ("img_2.png", "large.jpg", "rotated.jpg", "sub/nested.png"):
        (folders[0][1] / name).unlink()
    (folders[1][1] / "t_0.png").unlink()
    scan_images(folders, cache, workers=1)
    assert old.is_file()  # unused now, but young: another process may be about to use it
    stale = time.time() - imageindex.STALE_PACK_S - 60
    os.utime(old, (stale, stale))
    (folders[0][1] / "img_1.png").unlink()  # a change, so the index is written again
    scan_images(folders, cache, workers=1)
    assert not old.exists()


def test_reading_a_thumbnail_from_a_cut_pack_or_an_older_index(tmp_path, folders):
    index = scan_images(folders, tmp_path / "cache", workers=1)
    ref = index.loc[index["name"] == "img_0.png", "thumb"].iloc[0]
    pack = Path(thumb_file(ref))
    pack.write_bytes(pack.read_bytes()[:10])
    with pytest.raises(OSError, match="cut short"):
        read_thumbnail(ref)
    plain = tmp_path / "old#1+2.jpg"  # an older index held plain paths, '#' and all
    plain.write_bytes(b"jpeg")
    assert read_thumbnail(str(plain)) == b"jpeg" and thumb_file(str(plain)) == str(plain)


def test_index_refuses_an_oversized_image_without_decoding_it(tmp_path, decoded):
    folder = tmp_path / "train"
    folder.mkdir()
    noise_image(64).save(folder / "big.png")
    noise_image(16).save(folder / "small.png")
    index = scan_images([("train", folder)], tmp_path / "cache", max_pixels=1000, workers=1).set_index("name")
    assert "exceeds the limit of 1,000" in index.loc["big.png", "error"]
    assert index.loc["big.png", "error"].startswith("train/big.png: ")
    assert index.loc["small.png", "error"] == ""
    assert "big.png" not in decoded


def test_changing_the_pixel_limit_rechecks_cached_images(tmp_path, monkeypatch):
    folder = tmp_path / "train"
    folder.mkdir()
    noise_image(64).save(folder / "big.png")
    noise_image(16).save(folder / "small.png")
    cache = tmp_path / "cache"
    assert (scan_images([("train", folder)], cache, workers=1)["error"] == "").all()
    strict = scan_images([("train", folder)], cache, max_pixels=1000, workers=1).set_index("name")
    assert "exceeds the limit of 1,000" in strict.loc["big.png", "error"]
    assert strict.loc["small.png", "error"] == ""
    calls = _count_process(monkeypatch)
    relaxed = scan_images([("train", folder)], cache, workers=1)
    assert (relaxed["error"] == "").all()
    assert calls == []  # back at the default limit: its own cached index, nothing decoded again


def test_scan_reports_the_files_it_decodes_through_callbacks(tmp_path, folders):
    from core.runs.progress import Callbacks

    class Recorder(Callbacks):
        def __init__(self) -> None:
            self.calls: list[dict] = []

        def on_progress(self, *, progress: float, message: str = "", **where) -> None:
            self.calls.append({"progress": progress, "message": message, **where})

    first = Recorder()
    scan_images(folders, tmp_path / "cache", workers=1, callbacks=first)
    assert first.calls[-1] == {"progress": 1.0, "message": imageindex.PROGRESS_MESSAGE, "step": 8, "steps": 8}
    again = Recorder()
    scan_images(folders, tmp_path / "cache", workers=1, callbacks=again)
    assert again.calls == []  # nothing to decode: nothing to report
    thumbs = (tmp_path / "cache" / "thumbs").rglob("*")
    assert not [p.name for p in thumbs if p.name.endswith(".tmp")]  # thumbnails went through core.io.atomic
