"""The run folder: the contract between a job and the pages (DESIGN.md).

    .workbench/runs/<run_id>/
        config.yaml  status.json  events.jsonl  log.txt
        oof.csv  test_probs.csv  submission.csv  embeddings.npy  embeddings_ids.csv
        weights/fold<k>.safetensors

A job writes status.json (core.runs.status: the record every background job keeps) and appends one
JSON object per line to events.jsonl; pages only read. Artifacts are written atomically too
(core.io.atomic), so a page never reads half a file. `list_runs` rebuilds the job list from the folders alone (after a restart) and marks a job
whose process is gone as failed.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.config import RunConfig, save_config
from core.io.atomic import atomic_write
from core.io.csvfile import write_csv_atomic
from core.project.layout import ProjectLayout
from core.recipes.store import recipes_dir, resolve_recipe_yaml
from core.runs.status import ACTIVE as ACTIVE  # the job states (core.runs.status), still importable from here
from core.runs.status import STATES as STATES
from core.runs.status import StatusFile, queue_status, read_record, tail_file

STATUS = "status.json"


EVENTS = "events.jsonl"


CONFIG = "config.yaml"


LOG = "log.txt"


OOF = "oof.csv"


TEST_PROBS = "test_probs.csv"


SUBMISSION = "submission.csv"


EMBEDDINGS = "embeddings.npy"


EMBEDDING_IDS = "embeddings_ids.csv"


def new_run_id(kind: str) -> str:
    """Sortable by creation time, unique across teammates sharing a folder."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{kind}-{secrets.token_hex(2)}"


def create_run(layout: ProjectLayout, config: RunConfig, *, run_id: str | None = None) -> Path:
    """A new run folder holding the resolved config and a `queued` status.

    The config is stored with its noise recipe itself (aug.recipe_yaml, core.recipes.store.resolve_recipe_yaml):
    editing or deleting the recipe later never changes what this run meant.
    """
    layout.ensure_work_dir()
    aug = config.aug
    stored = resolve_recipe_yaml(aug.recipe, recipe_yaml=aug.recipe_yaml, recipes_dir=recipes_dir(layout))
    config = replace(config, aug=replace(aug, recipe_yaml=stored))
    run_id = run_id or new_run_id(config.kind)
    run_dir = layout.runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    save_config(config, run_dir / CONFIG)
    queue_status(run_dir / STATUS, run_id=run_id, kind=config.kind)
    return run_dir


class RunWriter(StatusFile):
    """What a job uses to report: merged status.json fields (a StatusFile) and appended events."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        super().__init__(self.run_dir / STATUS)

    def status(self, **fields: Any) -> dict[str, Any]:
        """Merge `fields` into status.json (see StatusFile.update); returns the whole record."""
        return self.update(**fields)

    def event(self, kind: str, **fields: Any) -> None:
        record = {"type": kind, "time": time.time(), **fields}
        with open(self.run_dir / EVENTS, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def read_status(run_dir: str | Path) -> dict[str, Any]:
    """status.json checked (core.runs.status.read_record): {} when missing, state `damaged` when malformed."""
    return read_record(Path(run_dir) / STATUS)


def read_events(run_dir: str | Path, *, kinds: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Events in order. Lines that are not a JSON object are skipped: a half-written last line (the job
    is still writing) is normal, garbage (a damaged file) must not take a page down."""
    return read_events_from(run_dir, 0, kinds=kinds)[0]


def read_events_from(
    run_dir: str | Path, offset: int, *, kinds: Sequence[str] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """(events of the whole lines after byte `offset`, the offset after the last whole line): a page that
    follows a job reads only what was appended since its last look. With `kinds`, lines that cannot be
    of those types are skipped without being parsed."""
    path = Path(run_dir) / EVENTS
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return [], offset
    end = data.rfind(b"\n") + 1  # a half-written last line waits for the next look
    markers = [f'"type": "{kind}"'.encode() for kind in kinds] if kinds is not None else None
    events = []
    for line in data[:end].splitlines():
        if markers is not None and not any(marker in line for marker in markers):
            continue
        try:
            record = json.loads(line.decode("utf-8", errors="replace"))
        except ValueError:
            continue
        if isinstance(record, dict) and (kinds is None or record.get("type") in kinds):
            events.append(record)
    return events, offset + end


def tail_log(run_dir: str | Path, *, lines: int = 40) -> str:
    """The last `lines` lines of the run's log.txt ("" before it exists)."""
    return tail_file(Path(run_dir) / LOG, lines=lines)


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
    with atomic_write(run_dir / EMBEDDINGS, "wb") as handle:
        np.save(handle, embeddings.astype(np.float32))
    write_csv_atomic(pd.DataFrame({"ID": list(ids), "split": list(splits)}), run_dir / EMBEDDING_IDS)


def read_oof(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(Path(run_dir) / OOF, dtype={"ID": str})


def read_test_probs(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(Path(run_dir) / TEST_PROBS, dtype={"ID": str})
