"""Reading and writing files safely: atomic writes, CSVs in any encoding, images as upright RGB.

atomic    atomic_write, write_bytes/text/json_atomic, copy_file_atomic: the one way every file reaches the disk
csvfile   read_csv (BOM, CRLF, cp949...; errors name the file), write_csv_atomic
images    open_rgb / read_header: regular files only, bombs and decodes over MAX_DECODED_BYTES refused from the header, EXIF, every mode to RGB
text      shown: a user's value as a message may echo it (cut, control characters escaped)
"""

from __future__ import annotations

from core.io.atomic import atomic_write, copy_file_atomic, write_bytes_atomic, write_json_atomic, write_text_atomic
from core.io.csvfile import CsvError, read_csv, write_csv_atomic
from core.io.images import ImageError, is_image_file, open_rgb, read_header
from core.io.text import shown

__all__ = [
    "CsvError",
    "ImageError",
    "atomic_write",
    "copy_file_atomic",
    "is_image_file",
    "open_rgb",
    "read_csv",
    "read_header",
    "shown",
    "write_bytes_atomic",
    "write_csv_atomic",
    "write_json_atomic",
    "write_text_atomic",
]
