"""A background job's status file: one JSON object that the job rewrites and pages poll.

    StatusFile(path).update(**fields)     what a job reports with: fields merged, updated_at, atomic write
    queue_status(path, **fields)          a fresh `queued` record, written before the job starts
    record_pid(path, pid)                 the launcher's note of the job it started
    read_record(path)                     the record checked and coerced: {} when missing, `damaged` when malformed
    job_status(path, log=, identity=)     the record as a page must see it: liveness judged
    judge_liveness(path, status, ...)     a queued / running job whose process is gone reads as `failed`
    pid_alive(pid, identity)              a live (non-zombie) process whose command line names identity
    read_json / tail_file / now_iso       the small readers every status user needs

Every background job keeps one: a run folder's status.json (DESIGN.md "A run folder"), the UMAP
job's `<out>.status.json`, and whatever job comes next. The fields they share:

    state       queued | running | succeeded | failed | cancelled
    pid, pgid   the job's process and process group (the same: a job runs in its own session)
    progress    0..1 of the whole job;  message: what it is doing, or why it failed
    created_at  ISO 8601 UTC, when it was queued;  updated_at: its last write;  finished_at

and each job adds its own (fold, epoch, metrics, traceback, ...). Written atomically, so a reader
never sees half a record. Readers go through `read_record`, the ONE place a record's shape is checked:
a file that is not JSON, not an object, or holds a field of the wrong type (state unknown, pid "abc",
progress "x", metrics a list) reads as state `damaged` with a message naming the file and the field,
and every field it returns has the type above. Reading never writes: a dead job is judged in memory.
"""

from __future__ import annotations

import json
import math
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.io.atomic import write_json_atomic
from core.io.text import shown

STATES = ("queued", "running", "succeeded", "failed", "cancelled")


DAMAGED = "damaged"  # a status file that cannot be read as a record: listed with its message, never analysed


ACTIVE = ("queued", "running")


START_GRACE_S = 60.0  # a queued job that has no pid this long after it was created never started


ENDED = "the job's process ended without reporting (killed or crashed)"


TAIL_LINES = 15  # of the job's log, in the message of a job found dead


ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def now_iso() -> str:
    """The current time as every status file writes it: ISO 8601 UTC with microseconds."""
    return datetime.now(UTC).strftime(ISO_FORMAT)


def read_json(path: str | Path) -> dict[str, Any]:
    """A JSON object file; {} when it is missing, unreadable or half-written (never raises)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# The fields readers use, by the type they must have; others pass through as they are.
_TEXT_FIELDS = ("kind", "labels", "run_id", "created_at", "started_at", "finished_at", "updated_at", "traceback")
_COUNT_FIELDS = ("fold", "folds", "epoch", "epochs", "step", "steps", "train_rows", "test_rows")
_COUNT_FIELDS += ("oof_rows", "test_probs_rows")


class _Malformed(ValueError):
    """One field of a record has the wrong shape; the message says which and what it holds."""


def read_record(path: str | Path) -> dict[str, Any]:
    """The status file at `path` as a checked record (module docstring); never raises, never writes.

    {} when the file is missing or still empty (a launcher creates it empty for an instant); a record
    with state `damaged` and a message naming the file when it cannot be read or has the wrong shape.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        return damaged_record(path.name, f"cannot be read ({shown(exc, 80)})")
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except ValueError:
        return damaged_record(path.name, "is not valid JSON (cut short or overwritten)")
    return check_record(raw, name=path.name)


def damaged_record(name: str, what: str, *, kind: str = "", created_at: str = "") -> dict[str, Any]:
    """The record a damaged status file reads as: state `damaged`, the message naming the file."""
    record = {"state": DAMAGED, "progress": 0.0, "message": f"{name} is damaged: {what}", "damaged": name}
    record.update({k: v for k, v in (("kind", kind), ("created_at", created_at)) if v})
    return record


def check_record(raw: Any, *, name: str) -> dict[str, Any]:
    """`raw` (parsed JSON of the file `name`) as a record whose fields have the types readers expect,
    or a `damaged` record saying what is wrong."""
    if not isinstance(raw, dict):
        return damaged_record(name, f"holds {_json_type(raw)} instead of a JSON object")
    kind = raw.get("kind") if isinstance(raw.get("kind"), str) else ""
    created = raw.get("created_at") if isinstance(raw.get("created_at"), str) else ""
    try:
        return _coerced(raw)
    except _Malformed as exc:
        return damaged_record(name, str(exc), kind=kind, created_at=created)


def _coerced(raw: dict[str, Any]) -> dict[str, Any]:
    record = dict(raw)
    state = raw.get("state")
    if state not in STATES:
        raise _Malformed(
            "it has no state" if state is None else f"state '{shown(state)}' is not one of {', '.join(STATES)}"
        )
    for key in ("pid", "pgid"):
        if raw.get(key) is not None:
            record[key] = _count(key, raw[key], least=1)
    record["progress"] = min(1.0, max(0.0, _number("progress", raw.get("progress", 0.0))))
    message = raw.get("message")
    if message is not None and not isinstance(message, str):
        raise _Malformed(f"message '{shown(message)}' is not text")
    for key in _TEXT_FIELDS:
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise _Malformed(f"{key} '{shown(raw[key])}' is not text")
    for key in _COUNT_FIELDS:
        if raw.get(key) is not None:
            record[key] = _count(key, raw[key], least=0)
    if raw.get("duration_s") is not None:
        record["duration_s"] = _number("duration_s", raw["duration_s"], finite=False)
    if raw.get("metrics") is not None:
        metrics = raw["metrics"]
        if not isinstance(metrics, dict):
            raise _Malformed(f"metrics is {_json_type(metrics)} instead of an object of numbers")
        # NaN stays NaN (a score undefined for this run), text and lists do not pass
        record["metrics"] = {
            str(k): _number(f"metrics.{shown(k)}", v, finite=False) for k, v in metrics.items() if v is not None
        }
    return record


def _number(key: str, value: Any, *, finite: bool = True) -> float:
    """A float (finite unless `finite` is False) from a JSON number or numeric text; _Malformed otherwise."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise _Malformed(f"{key} '{shown(value)}' is not a number") from None
    if finite and not math.isfinite(number):
        raise _Malformed(f"{key} '{shown(value)}' is not a finite number")
    return number


def _count(key: str, value: Any, *, least: int) -> int:
    """A whole number >= `least` from a JSON integer (or integral text); _Malformed otherwise."""
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise _Malformed(f"{key} '{shown(value)}' is not a whole number") from None
    if number < least:
        raise _Malformed(f"{key} '{shown(value)}' is below {least}")
    return number


def _json_type(value: Any) -> str:
    """How a parsed JSON value is named in a message: null, a list, a string, ..."""
    names = {type(None): "null", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


class StatusFile:
    """A job's own view of its status file: the record kept in memory, every update written whole.

    Fields are merged into what the file held when this object was made (a job is the only writer
    while it lives, so it never needs to read the file again).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fields = read_json(self.path)

    @property
    def fields(self) -> dict[str, Any]:
        """A copy of the record as last written (or read)."""
        return dict(self._fields)

    def update(self, **fields: Any) -> dict[str, Any]:
        """Merge `fields`, stamp updated_at, write the whole record atomically; returns a copy."""
        self._fields.update(fields)
        self._fields["updated_at"] = now_iso()
        write_json_atomic(self.path, self._fields)
        return dict(self._fields)

    def forget(self, *keys: str) -> None:
        """Drop fields (e.g. an earlier attempt's traceback); the file changes at the next update."""
        for key in keys:
            self._fields.pop(key, None)


def queue_status(path: str | Path, *, message: str = "created", **fields: Any) -> dict[str, Any]:
    """Write a fresh `queued` record (replacing any earlier one: a retry); returns it."""
    status = {"state": "queued", "created_at": now_iso(), "progress": 0.0, "message": message, **fields}
    write_json_atomic(path, status)
    return status


def record_pid(path: str | Path, pid: int) -> None:
    """Note the pid (= process group: the job has its own session) of a job just started.

    Skipped when the job already wrote its own, or has already ended: the launcher never
    overwrites what the job said about itself.
    """
    status = StatusFile(path)
    if status.fields.get("pid") is None and status.fields.get("state") in ACTIVE:
        status.update(pid=int(pid), pgid=int(pid))


def pid_alive(pid: int | None, identity: str | None = None) -> bool:
    """True while `pid` runs (not a zombie) and, where /proc shows it, its command line holds `identity`.

    `identity` (a run id, an output file's name) guards against a recycled pid: after a reboot the
    number may belong to an unrelated process.
    """
    try:
        pid = int(pid or 0)
    except (TypeError, ValueError):  # not a process id (a damaged record): no process of ours
        return False
    if pid < 1:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{int(pid)}")
    if proc.exists():
        try:
            stat = (proc / "stat").read_text()
            if ") Z" in stat or ") X" in stat:
                return False
            if identity:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                return identity in cmdline
        except OSError:
            return False
    return True


def tail_file(path: str | Path, *, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a (log) file, read from its last 64 kB; "" when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64_000))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _age_s(status: dict[str, Any]) -> float:
    """Seconds since the job was queued (created_at; `started`, epoch seconds, in older UMAP records)."""
    try:
        created = datetime.strptime(str(status["created_at"]), ISO_FORMAT).replace(tzinfo=UTC).timestamp()
    except (KeyError, ValueError):
        try:
            created = float(status["started"])
        except (KeyError, TypeError, ValueError):
            return math.inf
    return time.time() - created


def judge_liveness(
    path: str | Path, status: dict[str, Any], *, log: str | Path, identity: str | None = None, ended: str = ENDED
) -> dict[str, Any]:
    """`status` (read from `path`) as it stands, unless the job is queued or running but its process is
    gone (or it has had no pid for START_GRACE_S): then it is returned as `failed`, the message `ended`
    followed by the last lines of `log`. Judged in memory only: reading never writes (a full disk, a
    read-only folder or a deleted run never breaks a listing), so every reader judges it the same way.
    """
    if status.get("state") not in ACTIVE:
        return status
    pid = status.get("pid")
    if pid is None:
        if _age_s(status) < START_GRACE_S:  # created, but the launcher has not noted the pid yet
            return status
    elif pid_alive(pid, identity):
        return status
    current = read_record(path)  # the job may have finished between the two reads
    if current and current.get("state") not in ACTIVE:
        return current
    tail = tail_file(log)
    return {**(current or status), "state": "failed", "message": ended + (":\n" + tail if tail else "")}


def job_status(path: str | Path, *, log: str | Path, identity: str | None = None, ended: str = ENDED) -> dict[str, Any]:
    """The status a page shows: the record with liveness judged, or state `missing` without one.

    A damaged file reads as `failed` with its message (the pages of these jobs offer a retry, which
    writes a fresh record); run folders keep the `damaged` state (core.runs.catalog).
    """
    status = read_record(path)
    if not status:
        return {"state": "missing", "progress": 0.0, "message": ""}
    judged = judge_liveness(path, status, log=log, identity=identity, ended=ended)
    return {**judged, "state": "failed"} if judged["state"] == DAMAGED else judged
