"""A background job's status file: one JSON object that the job rewrites and pages poll.

    StatusFile(path).update(**fields)     what a job reports with: fields merged, updated_at, atomic write
    queue_status(path, **fields)          a fresh `queued` record, written before the job starts
    record_pid(path, pid)                 the launcher's note of the job it started
    job_status(path, log=, identity=)     the record as a page must see it: liveness judged
    judge_liveness(path, status, ...)     a queued / running job whose process is gone is `failed`
    pid_alive(pid, identity)              a live (non-zombie) process whose command line names identity
    read_json / tail_file / now_iso       the small readers every status user needs

Every background job keeps one: a run folder's status.json (DESIGN.md "A run folder"), the UMAP
job's `<out>.status.json`, and whatever job comes next. The fields they share:

    state       queued | running | succeeded | failed | cancelled
    pid, pgid   the job's process and process group (the same: a job runs in its own session)
    progress    0..1 of the whole job;  message: what it is doing, or why it failed
    created_at  ISO 8601 UTC, when it was queued;  updated_at: its last write;  finished_at

and each job adds its own (fold, epoch, metrics, traceback, ...). Written atomically, so a reader
never sees half a record; a missing or half-written file reads as {}.
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

STATES = ("queued", "running", "succeeded", "failed", "cancelled")


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
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
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
    gone (or it has had no pid for START_GRACE_S): then the record is rewritten as `failed`, the message
    `ended` followed by the last lines of `log`, and returned.
    """
    if status.get("state") not in ACTIVE:
        return status
    pid = status.get("pid")
    if pid is None:
        if _age_s(status) < START_GRACE_S:  # created, but the launcher has not noted the pid yet
            return status
    elif pid_alive(pid, identity):
        return status
    current = read_json(path)  # the job may have finished between the two reads
    if current and current.get("state") not in ACTIVE:
        return current
    tail = tail_file(log)
    failed = {
        **(current or status),
        "state": "failed",
        "message": ended + (":\n" + tail if tail else ""),
        "finished_at": now_iso(),
    }
    try:
        writer = StatusFile(path)
        return writer.update(**{k: v for k, v in failed.items() if k != "updated_at"})
    except OSError:  # the folder is gone (a run deleted, the cache cleared): report, do not recreate it
        return failed


def job_status(path: str | Path, *, log: str | Path, identity: str | None = None, ended: str = ENDED) -> dict[str, Any]:
    """The status a page shows: the record with liveness judged, or state `missing` without one."""
    status = read_json(path)
    if not status:
        return {"state": "missing", "progress": 0.0, "message": ""}
    return judge_liveness(path, status, log=log, identity=identity, ended=ended)
