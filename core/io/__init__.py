"""Reading and writing files safely: CSVs in any encoding, images as upright RGB.

csvfile   read_csv (BOM, CRLF, cp949...; errors name the file), write_csv_atomic
images    open_rgb / read_header: bombs refused before decoding, EXIF, every mode to RGB
"""

from __future__ import annotations

from core.io.csvfile import CsvError, read_csv, write_csv_atomic
from core.io.images import ImageError, is_image_file, open_rgb, read_header

__all__ = ["CsvError", "ImageError", "is_image_file", "open_rgb", "read_csv", "read_header", "write_csv_atomic"]
