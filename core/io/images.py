"""Opening images safely as upright 8-bit RGB.

Every image the workbench shows or trains on goes through `open_rgb`: only a regular file is opened
(a FIFO, device, socket, folder or symlink loop named like an image is refused without blocking),
and from the header, before anything is decoded, the pixel count (decompression bombs) and the memory
the decode would take (`decode_bytes`, at most MAX_DECODED_BYTES) are checked. EXIF orientation is
applied, and modes L, LA, P, RGBA, CMYK, I;16 and friends become RGB (transparency composited on
white, 16-bit scaled to 8-bit). Truncated or corrupt files raise `ImageError` naming the file.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


DEFAULT_MAX_PIXELS = 50_000_000  # ~7,000 x 7,000; far above any competition image, far below a bomb


# The most memory decoding one image to RGB may take (decode_bytes): an RGB image up to ~33M pixels
# (5,800 x 5,800 at 8 bytes a pixel), a 16-bit grey one up to ~38M; not a 7,000 x 7,000 one, whatever its
# mode (a 16-bit PNG of zeros that size is a few hundred KB on disk). Each indexing worker may take this much.
MAX_DECODED_BYTES = 256 * 2**20


# Never pad a truncated file with grey: a truncated image is an error the user must see.
ImageFile.LOAD_TRUNCATED_IMAGES = False


_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


# Bytes per pixel PIL holds a decoded image in (1 and P and L: one byte; I;16: two; the rest: four).
_STORED = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}


_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")


_ALPHA = ("RGBA", "LA", "PA", "RGBa", "La")


_PIXELS_PER_STEP = 1 << 20  # pixels scaled to 8-bit at once: the float64 scratch stays at 8 MB, whatever the image


class ImageError(ValueError):
    """An image that cannot be used; the message names the file and the reason."""


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def not_regular(path: Path) -> str:
    """Why `path` (symlinks followed) is not a regular file that may be opened, or "" when it is one.
    Only the inode is looked at: a FIFO is never opened (opening one blocks until a writer comes)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop; not read"
        return f"cannot be opened: {exc.strerror or exc}"
    return _kind(mode)


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return ""
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a file")
    return f"not a regular file ({kind}); not read"


def decode_bytes(mode: str, width: int, height: int, *, transparency: bool = False) -> int:
    """Memory `open_rgb` takes at its peak to decode a `mode` image of width x height (from the header;
    `transparency`: a P image with a transparent colour), following what `open_rgb` and `to_rgb` hold.

    The decoded source is held throughout, and an EXIF rotation or the copy of an RGB source adds a
    second one. Beside the source: I;16 / I / F hold their pixels as bytes twice while numpy gets them
    (PIL's tobytes joins its chunks), then as an array and the 8-bit grey, then the grey and the RGB
    result; RGBA a white background and the composite (then the composite and the RGB result); other
    modes with transparency an RGBA copy too; every other mode the RGB result (4 bytes a pixel).
    Measured peaks (resident memory) match these to within 2%.
    """
    source = _STORED.get(mode, 4)
    if mode == "RGB":
        extra = 0
    elif mode in _SIXTEEN_BIT or mode in ("I", "F"):
        extra = max(2 * source, source + 1, 1 + 4)
    elif mode == "RGBA":
        extra = 4 + 4
    elif mode in _ALPHA or (mode == "P" and transparency):
        extra = 4 + 4 + 4
    else:
        extra = 4
    return width * height * max(2 * source, source + extra)


def _check_size(path: Path, image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"{path}: {width}x{height} = {width * height:,} pixels exceeds the limit of {max_pixels:,} "
            "(possible decompression bomb; refused without decoding)"
        )
    needed = decode_bytes(image.mode, width, height, transparency="transparency" in image.info)
    if needed > MAX_DECODED_BYTES:
        raise ImageError(
            f"{path}: {width}x{height} {image.mode} needs about {-(-needed // 2**20):,} MB to decode, "
            f"over the limit of {MAX_DECODED_BYTES // 2**20:,} MB (refused without decoding)"
        )


def _open_regular(path: Path) -> io.BufferedReader:
    """`path` opened for reading as a binary file object, when it is a regular file: a FIFO is refused
    before it is opened, and the open itself never blocks (O_NONBLOCK) should the file be swapped for
    one in between; what was opened is checked again (fstat)."""
    why = not_regular(path)
    if why:
        raise ImageError(f"{path}: {why}")
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ImageError(f"{path}: cannot be opened: {exc.strerror or exc}") from exc
    why = _kind(os.fstat(fd).st_mode)
    if why:
        os.close(fd)
        raise ImageError(f"{path}: {why}")
    handle = open(fd, "rb")  # noqa: SIM115 - closed by _open
    handle.raw.name = str(path)  # what a traceback (or a test's decode spy) names, not the descriptor
    return handle


@contextmanager
def _open(path: Path, max_pixels: int) -> Iterator[Image.Image]:
    """Open lazily (header only) and refuse what may not be decoded before decoding a single pixel.

    PIL gets the file object, never the path, so it cannot reopen a path swapped in the meantime."""
    handle = _open_regular(path)
    try:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(handle)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(f"{path}: refused as a possible decompression bomb ({exc})") from exc
        except UnidentifiedImageError as exc:
            raise ImageError(f"{path}: not a readable image (unknown or corrupt format)") from exc
        except OSError as exc:
            raise ImageError(f"{path}: cannot be opened: {exc}") from exc
        try:
            _check_size(path, image, max_pixels)
            yield image
        finally:
            image.close()  # frees the decoded pixels now, not at garbage collection
    finally:
        handle.close()


def _header_orientation(image: Image.Image) -> int:
    """EXIF orientation (1..8) known from the header, without decoding any pixels.

    Pillow's PNG `getexif()` decodes the whole image to look for an eXIf chunk stored after the
    pixel data; only an eXIf chunk before the pixels (already in `info`) is read here.
    """
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    try:
        return int(image.getexif().get(0x0112, 1))
    except (OSError, SyntaxError, ValueError, TypeError):
        return 1  # an unreadable EXIF block: the image is shown as stored


def read_header(path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int, str, str]:
    """(width, height, mode, format) from the header alone, oriented as the image will be shown."""
    with _open(Path(path), max_pixels) as image:
        width, height = image.size
        if _header_orientation(image) in (5, 6, 7, 8):  # EXIF rotations by 90 degrees swap the sides
            width, height = height, width
        return width, height, image.mode, image.format or ""


def _to_uint8(array: np.ndarray, low: float, high: float) -> np.ndarray:
    """(array - low) / (high - low) as 0..255 rounded, a block of rows at a time (float64 scratch stays small)."""
    out = np.empty(array.shape, dtype=np.uint8)
    rows = max(1, _PIXELS_PER_STEP // max(1, array.shape[1]))
    for start in range(0, array.shape[0], rows):
        block = array[start : start + rows].astype(np.float64)
        block -= low
        block /= high - low
        block *= 255.0
        block += 0.5
        np.clip(block, 0, 255, out=block)
        out[start : start + rows] = block.astype(np.uint8)
    return out


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB; transparent pixels become white, 16/32-bit is rescaled."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _SIXTEEN_BIT or mode in ("I", "F"):
        array = np.asarray(image)
        if mode in _SIXTEEN_BIT:
            low, high = 0.0, 65535.0
        else:
            low, high = float(np.min(array)), float(np.max(array))
        gray = np.zeros(array.shape, np.uint8) if high <= low else _to_uint8(array, low, high)
        del array
        return Image.fromarray(gray, mode="L").convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in _ALPHA:
        rgba = image if mode == "RGBA" else image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        composite = Image.alpha_composite(background, rgba)
        del background, rgba
        return composite.convert("RGB")
    return image.convert("RGB")


def open_rgb(
    path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, draft_size: tuple[int, int] | None = None
) -> Image.Image:
    """Decode a whole image as upright RGB.

    `draft_size` lets JPEG decode at a reduced scale (still at least that size), which is what
    thumbnails use: the whole file is still read, so truncation is still detected.
    """
    return open_rgb_with_header(path, max_pixels=max_pixels, draft_size=draft_size)[0]


def open_rgb_with_header(
    path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, draft_size: tuple[int, int] | None = None
) -> tuple[Image.Image, tuple[int, int, str, str]]:
    """(`open_rgb`'s image, `read_header`'s (width, height, mode, format)) from one opening of the file:
    what the image indexer needs of every file, at the cost of one open instead of two."""
    path = Path(path)
    with _open(path, max_pixels) as source:
        width, height = source.size
        if _header_orientation(source) in (5, 6, 7, 8):
            width, height = height, width
        header = (width, height, source.mode, source.format or "")
        try:
            if draft_size is not None and source.format == "JPEG":
                source.draft("RGB", draft_size)
            source.load()
            ImageOps.exif_transpose(source, in_place=True)  # a rotation holds a second copy only while it turns
            rgb = to_rgb(source)
            rgb.load()
            return (rgb if rgb is not source else source.copy()), header
        except ImageError:
            raise
        except (OSError, SyntaxError, ValueError) as exc:
            message = str(exc) or type(exc).__name__
            if "truncated" in message.lower():
                message = f"truncated file ({message})"
            raise ImageError(f"{path}: corrupt or unreadable image: {message}") from exc
