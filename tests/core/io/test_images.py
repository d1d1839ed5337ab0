"""core.io.images: open_rgb and read_header (modes, EXIF, corrupt files, bombs)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from core.io.images import ImageError, open_rgb, read_header
from tests.support.builders import noise_image, rotated_jpeg


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height but which holds almost no pixel data (a cheap bomb)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    body = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    path.write_bytes(body + chunk(b"IEND", b""))
    return path


# --- modes -------------------------------------------------------------------------------------


def _pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    return tuple(int(v) for v in image.getpixel(xy))


def test_grayscale_l_becomes_rgb_with_the_same_value(tmp_path):
    path = tmp_path / "gray.png"
    Image.new("L", (8, 8), 77).save(path)
    image = open_rgb(path)
    assert image.mode == "RGB" and image.size == (8, 8)
    assert _pixel(image, (3, 3)) == (77, 77, 77)


def test_la_transparent_pixels_become_white(tmp_path):
    path = tmp_path / "la.png"
    source = Image.new("LA", (8, 8), (100, 255))
    source.paste((0, 0), (0, 0, 4, 8))  # left half fully transparent black
    source.save(path)
    image = open_rgb(path)
    assert image.mode == "RGB"
    assert _pixel(image, (1, 4)) == (255, 255, 255)
    assert _pixel(image, (6, 4)) == (100, 100, 100)


def test_palette_without_transparency_keeps_its_colours(tmp_path):
    path = tmp_path / "p.png"
    source = Image.new("P", (8, 8), 0)
    source.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    source.paste(1, (4, 0, 8, 8))
    source.save(path)
    assert Image.open(path).mode == "P"
    image = open_rgb(path)
    assert image.mode == "RGB"
    assert _pixel(image, (1, 1)) == (255, 0, 0)
    assert _pixel(image, (6, 1)) == (0, 0, 255)


def test_palette_with_transparency_composites_on_white(tmp_path):
    path = tmp_path / "p_transparent.png"
    source = Image.new("P", (8, 8), 0)
    source.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    source.paste(1, (4, 0, 8, 8))
    source.save(path, transparency=0)  # palette entry 0 (red) is transparent
    opened = Image.open(path)
    assert opened.mode == "P" and "transparency" in opened.info
    image = open_rgb(path)
    assert image.mode == "RGB"
    assert _pixel(image, (1, 1)) == (255, 255, 255)
    assert _pixel(image, (6, 1)) == (0, 0, 255)


def test_rgba_half_transparent_red_is_blended_with_white(tmp_path):
    path = tmp_path / "rgba.png"
    source = Image.new("RGBA", (8, 8), (255, 0, 0, 128))
    source.paste((0, 255, 0, 255), (4, 0, 8, 8))
    source.save(path)
    image = open_rgb(path)
    assert image.mode == "RGB"
    red, green, blue = _pixel(image, (1, 1))
    assert red == 255 and 125 <= green <= 129 and 125 <= blue <= 129
    assert _pixel(image, (6, 1)) == (0, 255, 0)


@pytest.mark.parametrize("fmt, tolerance", [("TIFF", 0), ("JPEG", 12)])
def test_cmyk_becomes_rgb(tmp_path, fmt, tolerance):
    path = tmp_path / f"cmyk.{fmt.lower()}"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, format=fmt)  # pure red in CMYK
    assert Image.open(path).mode == "CMYK"
    image = open_rgb(path)
    assert image.mode == "RGB"
    assert np.abs(np.asarray(image, dtype=int)[8, 8] - [255, 0, 0]).max() <= tolerance


def test_sixteen_bit_png_is_scaled_to_eight_bit_not_stretched(tmp_path):
    path = tmp_path / "depth16.png"
    Image.fromarray(np.array([[0, 32768, 65535, 1000]], dtype=np.uint16)).save(path)
    assert Image.open(path).mode.startswith("I")
    image = open_rgb(path)
    assert image.mode == "RGB"
    assert [_pixel(image, (x, 0)) for x in range(4)] == [(0, 0, 0), (128, 128, 128), (255, 255, 255), (4, 4, 4)]
    # A 16-bit image that uses only the upper half keeps its absolute brightness (no min-max stretch).
    upper = tmp_path / "upper16.png"
    Image.fromarray(np.array([[32768, 65535]], dtype=np.uint16)).save(upper)
    assert [_pixel(open_rgb(upper), (x, 0)) for x in range(2)] == [(128, 128, 128), (255, 255, 255)]


def test_exif_orientation_six_is_shown_upright(tmp_path):
    path = rotated_jpeg(tmp_path / "rotated.jpg")
    image = open_rgb(path)
    assert image.mode == "RGB"
    assert image.size == (20, 40)  # sides swapped
    pixels = np.asarray(image, dtype=int)
    assert np.abs(pixels[2:18, 2:18].mean(axis=(0, 1)) - [255, 0, 0]).max() < 20  # top: red
    assert np.abs(pixels[22:38, 2:18].mean(axis=(0, 1)) - [0, 0, 255]).max() < 20  # bottom: blue
    width, height, mode, fmt = read_header(path)
    assert (width, height, mode, fmt) == (20, 40, "RGB", "JPEG")


def test_draft_decoding_for_thumbnails_still_gives_at_least_the_draft_size(tmp_path):
    path = tmp_path / "big.jpg"
    noise_image(640).save(path, quality=90)
    image = open_rgb(path, draft_size=(160, 160))
    assert image.mode == "RGB"
    assert min(image.size) >= 160 and image.size[0] <= 640


# --- corrupt and truncated files ---------------------------------------------------------------


def test_random_bytes_with_jpg_extension_are_refused_by_name(tmp_path):
    path = tmp_path / "noise.jpg"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(ImageError, match="noise.jpg") as caught:
        open_rgb(path)
    assert "not a readable image" in str(caught.value)
    with pytest.raises(ImageError, match="noise.jpg"):
        read_header(path)


def test_empty_file_is_refused_by_name(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty.png"):
        open_rgb(path)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_image_is_refused_not_padded_with_grey(tmp_path, fmt):
    path = tmp_path / f"cut.{fmt.lower()}"
    noise_image(128, seed=3).save(path, format=fmt)
    _truncate(path)
    with pytest.raises(ImageError, match=f"cut.{fmt.lower()}") as caught:
        open_rgb(path)
    assert "corrupt or unreadable" in str(caught.value)
    assert not ImageFile.LOAD_TRUNCATED_IMAGES


def test_read_header_reads_only_the_header(tmp_path, decoded):
    png = tmp_path / "plain.png"
    noise_image(48).save(png)
    noise_image(48).save(tmp_path / "cut.png")
    cut = _truncate(tmp_path / "cut.png")
    jpeg = rotated_jpeg(tmp_path / "rotated.jpg")
    assert read_header(png) == (48, 48, "RGB", "PNG")
    assert read_header(cut) == (48, 48, "RGB", "PNG")  # the header is intact; only pixels are missing
    assert read_header(jpeg)[:2] == (20, 40)
    assert decoded == []


# --- decompression bombs -----------------------------------------------------------------------


def test_bomb_header_is_refused_without_decoding(tmp_path, decoded):
    path = _png_header_only(tmp_path / "bomb.png", 30_000, 30_000)
    assert path.stat().st_size < 200
    with pytest.raises(ImageError, match="bomb.png") as caught:
        open_rgb(path)
    assert "decompression bomb" in str(caught.value)
    with pytest.raises(ImageError, match="bomb.png"):
        read_header(path)
    assert decoded == []


def test_our_pixel_limit_holds_even_when_pillows_is_switched_off(tmp_path, decoded, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    path = _png_header_only(tmp_path / "bomb.png", 30_000, 30_000)
    with pytest.raises(ImageError, match=r"bomb\.png: 30000x30000 = 900,000,000 pixels exceeds the limit"):
        open_rgb(path)
    assert decoded == []


def test_low_max_pixels_refuses_a_real_image_before_decoding(tmp_path, decoded):
    path = tmp_path / "real.png"
    noise_image(64).save(path)
    with pytest.raises(ImageError, match=r"real\.png: 64x64 = 4,096 pixels exceeds the limit of 1,000"):
        open_rgb(path, max_pixels=1000)
    assert decoded == []
    assert open_rgb(path, max_pixels=4096).size == (64, 64)
