"""Reading and writing the project's CSV files.

Competition CSVs arrive with a UTF-8 BOM, Windows line ends, or in a legacy encoding such as cp949
(Korean class names). `read_csv` reads all of them correctly and says which encoding it used, so a
page can tell the user when a file was not UTF-8. `write_csv_atomic` is how every CSV the workbench
writes reaches the disk: through core.io.atomic (a temporary file in the same folder, then a rename).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.io.atomic import atomic_write


class CsvError(ValueError):
    """A CSV that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class CsvRead:
    """A CSV read as strings. `encoding` is the codec that decoded it ("utf-8" or e.g. "cp949")."""

    frame: pd.DataFrame
    encoding: str
    had_bom: bool


def decode_bytes(raw: bytes, *, path: Path, encoding: str | None = None) -> tuple[str, str, bool]:
    """Decode a file's bytes: the given encoding, else UTF-8 (BOM allowed), else the detected one.

    Returns (text, encoding used, whether a UTF-8 BOM was present).
    """
    had_bom = raw.startswith(b"\xef\xbb\xbf")
    if encoding:
        try:
            return raw.decode(encoding), encoding, had_bom
        except (UnicodeDecodeError, LookupError) as exc:
            raise CsvError(f"{path}: cannot be decoded as {encoding!r} (set in workbench.toml): {exc}") from exc
    try:
        return raw.decode("utf-8-sig"), "utf-8", had_bom
    except UnicodeDecodeError as utf8_error:
        from charset_normalizer import from_bytes

        matches = from_bytes(raw)
        if any(match.encoding in _KOREAN_CODECS for match in matches):
            # A few short Hangul names carry too little statistics, and big5 or gb18030 can win over
            # cp949 with garbled hanja; when the cp949 reading is all Hangul, it is the right one.
            korean = _decode_if_hangul(raw)
            if korean is not None:
                return korean, "cp949", had_bom
        best = matches.best()
        if best is None or best.encoding is None:
            raise CsvError(
                f"{path}: not UTF-8 ({utf8_error}) and no other encoding fits; save it as UTF-8 or set "
                '`encoding = "..."` in workbench.toml'
            ) from utf8_error
        return str(best), best.encoding, had_bom


# cp949 is the superset of euc-kr that Korean Windows writes; it is the codec used for any of these.
_KOREAN_CODECS = {"cp949", "euc_kr", "johab"}


def _decode_if_hangul(raw: bytes) -> str | None:
    """`raw` decoded as cp949 when every non-ASCII letter of the result is Hangul, else None."""
    try:
        text = raw.decode("cp949")
    except UnicodeDecodeError:
        return None
    letters = [c for c in text if ord(c) > 127 and c.isalpha()]
    hangul = [c for c in letters if "\uac00" <= c <= "\ud7a3" or "\u3131" <= c <= "\u318e"]
    return text if letters and len(hangul) == len(letters) else None


def read_csv(path: Path, *, encoding: str | None = None, required_columns: tuple[str, ...] = ()) -> CsvRead:
    """Read a CSV with every column as a string, whitespace around cells stripped.

    Raises CsvError naming the file when it is missing, empty, undecodable, malformed, or lacks a
    required column (the message lists the columns it does have).
    """
    path = Path(path)
    if not path.is_file():
        raise CsvError(f"{path}: file not found")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CsvError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise CsvError(f"{path}: the file is empty")
    text, used, had_bom = decode_bytes(raw, path=path, encoding=encoding)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise CsvError(f"{path}: the file is empty") from exc
    except pd.errors.ParserError as exc:
        raise CsvError(f"{path}: not a valid CSV: {exc}") from exc
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    for column in frame.columns:
        frame[column] = frame[column].str.strip()
    missing = [c for c in required_columns if c not in frame.columns]
    if missing:
        raise CsvError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns) or 'none'}")
    return CsvRead(frame=frame, encoding=used, had_bom=had_bom)


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` as UTF-8 CSV without the index, atomically (core.io.atomic); creates the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, index=False, lineterminator="\n")
    return path
