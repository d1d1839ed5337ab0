"""Atomic writes: the one way the workbench writes a file that anybody may be reading meanwhile.

    atomic_write(path, mode="wb"|"w", encoding=, newline=, durable=)  a context manager yielding the handle
    write_bytes_atomic(path, data)     bytes (e.g. safetensors' serialised tensors)
    write_text_atomic(path, text)      UTF-8 text (YAML, markers)
    write_json_atomic(path, data)      a JSON document (status files, caches' metadata)
    SaveError(path, cause)             "could not save <path>: <reason>", for callers that report a failed write
    copy_file_atomic(source, path)     a file's bytes copied in chunks (backups); returns their sha256

How: a temp file `.<name>.<random>.tmp` in the target's own folder (a rename is atomic only within a
file system), created 0666 so it has the permissions a plain `open()` gives under the user's umask,
written, flushed, fsynced, then `os.replace`d onto the target. A reader sees the old file or the new one, never
half of one. On any exception the temp file is removed and the target is left untouched.

Parent folders are not created: a writer whose folder vanished (a run deleted while its job runs)
fails instead of bringing the folder back.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

from core.io.text import shown


def current_umask() -> int:
    """The process's umask now: read from /proc (Linux >= 4.7) without changing it, else by setting it
    and putting it back. Writes do not need it (their temp files are created 0666, which the kernel
    masks); it is here for code that reports permissions."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0)
    os.umask(old)
    return old


_TEMP_TRIES = 100


def _create_temp(path: Path) -> tuple[int, str]:
    """A new temp file `.<name>.<random>.tmp` beside `path`, opened for writing (fd, its path).

    Created with mode 0666 so the kernel applies the umask, exactly as a plain `open()` would: files
    the workbench writes are as readable as the user's own (teammates share the project folder).
    """
    for _ in range(_TEMP_TRIES):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp file name beside {path}")


class SaveError(OSError):
    """A write that failed, as one line a user can act on: "could not save <path>: no space left on device".

    An OSError (errno kept from the cause), so callers that already catch OSError still do; the
    functions here raise the plain OSError, and the code that reports a failed save to a user wraps
    it (core.labels, core.project.db) so the message names the file the user was saving.
    """

    def __init__(self, path: str | Path, cause: BaseException, *, reason: str | None = None) -> None:
        code = getattr(cause, "errno", None)
        if reason is None:
            reason = os.strerror(code) if isinstance(code, int) and code > 0 else str(cause) or type(cause).__name__
            reason = reason[:1].lower() + reason[1:]
        super().__init__(code, reason)
        self.path = Path(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"could not save {shown(self.path, 300)}: {shown(self.reason, 200)}"


@contextmanager
def atomic_write(
    path: str | Path,
    mode: Literal["w", "wb"] = "wb",
    *,
    encoding: str | None = None,
    newline: str | None = None,
    durable: bool = True,
) -> Iterator[IO[Any]]:
    """Write `path` all at once: yields a handle on a temp file that replaces `path` when the block ends.

    `mode` "w" opens text (UTF-8 unless `encoding` says otherwise; `newline` as for `open`), "wb"
    bytes. `durable=False` skips the fsync, for rebuildable caches written by the thousand
    (thumbnails): readers still never see half a file, but a power cut may leave an empty one.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    fd, tmp = _create_temp(path)
    try:
        if mode == "w":
            handle = os.fdopen(fd, mode, encoding=encoding or "utf-8", newline=newline)
        else:
            handle = os.fdopen(fd, mode)
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        with handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes, *, durable: bool = True) -> Path:
    """`data` as the whole content of `path`, atomically (see `atomic_write`); returns the path."""
    with atomic_write(path, "wb", durable=durable) as handle:
        handle.write(data)
    return Path(path)


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """`text` as the whole content of `path` (newlines written as given), atomically; returns the path."""
    with atomic_write(path, "w", encoding=encoding, newline="") as handle:
        handle.write(text)
    return Path(path)


def write_json_atomic(path: str | Path, data: Any, *, indent: int | None = 1) -> Path:
    """`data` as a JSON document, atomically; values JSON cannot hold (numpy numbers, paths) become str."""
    with atomic_write(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=indent, default=str)
    return Path(path)


def copy_file_atomic(source: str | Path, path: str | Path, *, chunk_bytes: int = 1 << 20) -> str:
    """`source`'s bytes as the whole content of `path`, atomically (see `atomic_write`), read once in
    chunks of `chunk_bytes`; returns the sha256 (hex) of the bytes written. Large files (weights,
    databases) never sit in memory whole. A source that cannot be read leaves `path` untouched."""
    import hashlib

    digest = hashlib.sha256()
    with open(source, "rb") as reader, atomic_write(path, "wb") as handle:
        while chunk := reader.read(chunk_bytes):
            digest.update(chunk)
            handle.write(chunk)
    return digest.hexdigest()
