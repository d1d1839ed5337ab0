"""The run folder: the contract between a job and the pages (DESIGN.md).

    .workbench/runs/<run_id>/
        config.yaml  status.json  events.jsonl  log.txt
        oof.csv  test_probs.csv  submission.csv  embeddings.npy  embeddings_ids.csv
        weights/fold<k>.safetensors

A job writes status.json atomically (temp file + rename) and appends one JSON object per line to
events.jsonl; pages only read. Artifacts are written atomically too, so a page never reads half a
file. `list_runs` rebuilds the job list from the folders alone (after a restart) and marks a job
whose process is gone as failed.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.config import RunConfig, load_config, save_config
from core.csvio import write_csv_atomic
from core.project import ProjectLayout

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")
STATUS = "status.json"
EVENTS = "events.jsonl"
CONFIG = "config.yaml"
LOG = "log.txt"
OOF = "oof.csv"
TEST_PROBS = "test_probs.csv"
SUBMISSION = "submission.csv"
EMBEDDINGS = "embeddings.npy"
EMBEDDING_IDS = "embeddings_ids.csv"
LABELS_USED = "labels_used.csv"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_run_id(kind: str) -> str:
    """Sortable by creation time, unique across teammates sharing a folder."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{kind}-{secrets.token_hex(2)}"


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def create_run(layout: ProjectLayout, config: RunConfig, *, run_id: str | None = None) -> Path:
    """A new run folder holding the resolved config and a `queued` status."""
    layout.ensure_work_dir()
    run_id = run_id or new_run_id(config.kind)
    run_dir = layout.runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    save_config(config, run_dir / CONFIG)
    write_json_atomic(
        run_dir / STATUS,
        {
            "run_id": run_id,
            "kind": config.kind,
            "state": "queued",
            "created_at": now_iso(),
            "progress": 0.0,
            "message": "created",
        },
    )
    return run_dir


class RunWriter:
    """What a job uses to report: merged status.json fields and appended events."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self._status = read_json(self.run_dir / STATUS)

    def status(self, **fields: Any) -> dict[str, Any]:
        self._status.update(fields)
        self._status["updated_at"] = now_iso()
        write_json_atomic(self.run_dir / STATUS, self._status)
        return dict(self._status)

    def event(self, kind: str, **fields: Any) -> None:
        record = {"type": kind, "time": time.time(), **fields}
        with open(self.run_dir / EVENTS, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def read_status(run_dir: str | Path) -> dict[str, Any]:
    return read_json(Path(run_dir) / STATUS)


def read_events(run_dir: str | Path, *, kinds: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Events in order; a half-written last line (job still writing) is skipped."""
    path = Path(run_dir) / EVENTS
    events = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if kinds is None or record.get("type") in kinds:
                    events.append(record)
    except OSError:
        return []
    return events


def tail_log(run_dir: str | Path, *, lines: int = 40) -> str:
    path = Path(run_dir) / LOG
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64_000))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def pid_alive(pid: int | None, run_id: str | None = None) -> bool:
    """True while `pid` runs (not a zombie) and, where /proc shows it, is this run's process."""
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
            if ") Z" in (proc / "stat").read_text() or ") X" in (proc / "stat").read_text():
                return False
            if run_id:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                return run_id in cmdline
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_dir: Path
    status: dict[str, Any]

    @property
    def state(self) -> str:
        return str(self.status.get("state", "failed"))

    @property
    def kind(self) -> str:
        return str(self.status.get("kind", ""))

    def config(self) -> RunConfig:
        return load_config(self.run_dir / CONFIG)

    def has(self, artifact: str) -> bool:
        return (self.run_dir / artifact).is_file()


def refresh_liveness(run_dir: Path, status: dict[str, Any]) -> dict[str, Any]:
    """A queued or running job whose process is gone is marked failed, with the log tail."""
    if status.get("state") not in ACTIVE:
        return status
    pid = status.get("pid")
    if pid is None:
        # Created but never started (e.g. the launcher crashed): give it a minute before judging.
        created = status.get("created_at", "")
        try:
            age = time.time() - datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            age = 1e9
        if age < 60:
            return status
    elif pid_alive(pid, run_dir.name):
        return status
    status = read_status(run_dir)  # the job may have finished between the two reads
    if status.get("state") not in ACTIVE:
        return status
    tail = tail_log(run_dir, lines=15)
    message = "the job's process ended without reporting (killed or crashed)"
    if tail:
        message += ":\n" + tail
    writer = RunWriter(run_dir)
    return writer.status(state="failed", message=message, finished_at=now_iso())


def list_runs(layout: ProjectLayout) -> list[RunInfo]:
    """Every run folder, newest first, with dead jobs marked failed."""
    if not layout.runs_dir.is_dir():
        return []
    runs = []
    for run_dir in sorted(layout.runs_dir.iterdir(), reverse=True):
        if not run_dir.is_dir() or not (run_dir / STATUS).is_file():
            continue
        status = refresh_liveness(run_dir, read_status(run_dir))
        runs.append(RunInfo(run_id=run_dir.name, run_dir=run_dir, status=status))
    return runs


def find_run(layout: ProjectLayout, run_id: str | None = None) -> RunInfo | None:
    """The run named, or (None) the newest that succeeded."""
    runs = list_runs(layout)
    if run_id:
        return next((r for r in runs if r.run_id == run_id), None)
    return next((r for r in runs if r.state == "succeeded"), None)


# ---------------------------------------------------------------- artifacts (written by jobs, read by pages)


def prob_columns(num_classes: int) -> list[str]:
    return [f"prob_{k}" for k in range(num_classes)]


def write_oof(run_dir: Path, ids: Sequence[str], folds: np.ndarray, given: np.ndarray, probs: np.ndarray) -> Path:
    """oof.csv: ID, fold, given, predicted, prob_0..prob_{K-1} (rows a fold never scored are left out)."""
    frame = pd.DataFrame(
        {
            "ID": list(ids),
            "fold": folds.astype(int),
            "given": given.astype(int),
            "predicted": probs.argmax(axis=1).astype(int),
        }
    )
    frame = pd.concat([frame, pd.DataFrame(probs, columns=prob_columns(probs.shape[1]))], axis=1)
    return write_csv_atomic(frame, run_dir / OOF)


def write_test_outputs(run_dir: Path, ids: Sequence[str], probs: np.ndarray) -> None:
    """test_probs.csv (ID, prob_*) and submission.csv (ID, target)."""
    frame = pd.DataFrame({"ID": list(ids)})
    frame = pd.concat([frame, pd.DataFrame(probs, columns=prob_columns(probs.shape[1]))], axis=1)
    write_csv_atomic(frame, run_dir / TEST_PROBS)
    write_csv_atomic(pd.DataFrame({"ID": list(ids), "target": probs.argmax(axis=1).astype(int)}), run_dir / SUBMISSION)


def write_embeddings(run_dir: Path, ids: Sequence[str], splits: Sequence[str], embeddings: np.ndarray) -> None:
    """embeddings.npy (N, D) float32 + embeddings_ids.csv (ID, split), one row per train and test image."""
    tmp = run_dir / f".{EMBEDDINGS}.{os.getpid()}.tmp.npy"
    np.save(tmp, embeddings.astype(np.float32))
    os.replace(tmp, run_dir / EMBEDDINGS)
    write_csv_atomic(pd.DataFrame({"ID": list(ids), "split": list(splits)}), run_dir / EMBEDDING_IDS)


def read_oof(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(Path(run_dir) / OOF, dtype={"ID": str})


def read_test_probs(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(Path(run_dir) / TEST_PROBS, dtype={"ID": str})


def runs_table(runs: Sequence[RunInfo]) -> pd.DataFrame:
    """One row per run for the runs table and `workbench jobs`."""
    rows = []
    for run in runs:
        status = run.status
        try:
            config = run.config()
        except Exception:  # noqa: BLE001 - a damaged config.yaml still lists the run
            config = None
        metrics = status.get("metrics") or {}
        if config is None:
            model = recipe = ""
            folds = None
        elif config.kind == "scan":
            model, recipe, folds = f"{config.scan.backbone} (frozen)", "-", config.data.folds
        else:
            model, recipe, folds = config.model.name, config.aug.recipe, config.data.folds
        rows.append(
            {
                "run_id": run.run_id,
                "kind": run.kind,
                "state": run.state,
                "model": model,
                "labels": status.get("labels", config.data.labels if config else ""),
                "recipe": recipe,
                "folds": folds,
                "oof_macro_f1": metrics.get("oof_macro_f1"),
                "test_macro_f1": metrics.get("test_macro_f1"),
                "duration_s": status.get("duration_s"),
                "progress": float(status.get("progress", 0.0)),
                "created_at": status.get("created_at", ""),
                "name": config.name if config else "",
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "run_id",
            "kind",
            "state",
            "model",
            "labels",
            "recipe",
            "folds",
            "oof_macro_f1",
            "test_macro_f1",
            "duration_s",
            "progress",
            "created_at",
            "name",
        ],
    )


def retrain_config(config: RunConfig, labels_dir: Path) -> RunConfig:
    """The same config on the newest clean labels version (original when none was exported yet)."""
    from dataclasses import replace

    from core.labels import label_versions

    versions = label_versions(labels_dir)
    labels = f"v{versions[-1][0]}" if versions else "original"
    return replace(config, data=replace(config.data, labels=labels))
