"""Opening images safely as upright 8-bit RGB.

Every image the workbench shows or trains on goes through `open_rgb`: the pixel count is checked
from the header before anything is decoded (decompression bombs are refused), EXIF orientation is
applied, and modes L, LA, P, RGBA, CMYK, I;16 and friends become RGB (transparency composited on
white, 16-bit scaled to 8-bit). Truncated or corrupt files raise `ImageError` naming the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


DEFAULT_MAX_PIXELS = 50_000_000  # ~7,000 x 7,000; far above any competition image, far below a bomb


# Never pad a truncated file with grey: a truncated image is an error the user must see.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageError(ValueError):
    """An image that cannot be used; the message names the file and the reason."""


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _check_pixels(path: Path, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageError(
            f"{path}: {width}x{height} = {width * height:,} pixels exceeds the limit of {max_pixels:,} "
            "(possible decompression bomb; refused without decoding)"
        )


def _open(path: Path, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and refuse oversized images before decoding a single pixel."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{path}: refused as a possible decompression bomb ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{path}: not a readable image (unknown or corrupt format)") from exc
    except OSError as exc:
        raise ImageError(f"{path}: cannot be opened: {exc}") from exc
    try:
        _check_pixels(path, image.width, image.height, max_pixels)
    except ImageError:
        image.close()
        raise
    return image


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


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB; transparent pixels become white, 16/32-bit is rescaled."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        if mode.startswith("I;16"):
            array = array / 65535.0
        else:
            low, high = float(np.min(array)), float(np.max(array))
            array = (array - low) / (high - low) if high > low else np.zeros_like(array)
        gray = Image.fromarray(np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
        return gray.convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def open_rgb(
    path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, draft_size: tuple[int, int] | None = None
) -> Image.Image:
    """Decode a whole image as upright RGB.

    `draft_size` lets JPEG decode at a reduced scale (still at least that size), which is what
    thumbnails use: the whole file is still read, so truncation is still detected.
    """
    path = Path(path)
    source = _open(path, max_pixels)
    try:
        if draft_size is not None and source.format == "JPEG":
            source.draft("RGB", draft_size)
        source.load()
        upright = ImageOps.exif_transpose(source)
        rgb = to_rgb(upright)
        rgb.load()
        return rgb
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        message = str(exc) or type(exc).__name__
        if "truncated" in message.lower():
            message = f"truncated file ({message})"
        raise ImageError(f"{path}: corrupt or unreadable image: {message}") from exc
    finally:
        source.close()
