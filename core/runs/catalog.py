"""Every run of a project, rebuilt from the run folders alone (after a restart too).

list_runs(layout)         newest first, dead jobs judged failed, malformed status.json `damaged` (never writes)
find_run(layout, run_id)  the run named, or the newest that succeeded
runs_table(runs)          one row per run: the Runs page's table and `workbench jobs`
retrain_config(config, labels_dir)   the same config on the newest clean labels version
companion_scans(runs, run_id)        finished scans to average with a run for label issues
companion_scan_config(config)        the scan that would be its first companion (another image size)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.config import RunConfig, load_config
from core.project.layout import ProjectLayout
from core.runs.folder import CONFIG, STATUS, read_status
from core.runs.jobs import refresh_liveness
from core.runs.status import DAMAGED, damaged_record


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

    @property
    def damaged(self) -> bool:
        """Its status.json cannot be read as a record (the message says why): listed, never analysed."""
        return self.state == DAMAGED

    def config(self) -> RunConfig:
        return load_config(self.run_dir / CONFIG)

    def has(self, artifact: str) -> bool:
        return (self.run_dir / artifact).is_file()


def list_runs(layout: ProjectLayout) -> list[RunInfo]:
    """Every run folder, newest first: dead jobs judged failed and malformed status files `damaged`, in
    memory (core.runs.status.read_record): listing never writes, so a full disk or a read-only folder lists."""
    try:
        folders = sorted(layout.runs_dir.iterdir(), reverse=True)
    except OSError:  # no runs/ yet, or it cannot be read
        return []
    runs = []
    for run_dir in folders:
        if not run_dir.is_dir() or not (run_dir / STATUS).is_file():
            continue
        status = read_status(run_dir) or damaged_record(STATUS, "the file is empty")
        status = refresh_liveness(run_dir, status)
        runs.append(RunInfo(run_id=run_dir.name, run_dir=run_dir, status=status))
    return runs


def find_run(layout: ProjectLayout, run_id: str | None = None) -> RunInfo | None:
    """The run named, or (None) the newest that succeeded."""
    runs = list_runs(layout)
    if run_id:
        return next((r for r in runs if r.run_id == run_id), None)
    return next((r for r in runs if r.state == "succeeded"), None)


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

    from core.labels.versions import label_versions

    versions = label_versions(labels_dir)
    labels = f"v{versions[-1][0]}" if versions else "original"
    return replace(config, data=replace(config.data, labels=labels))


# Averaging the out-of-fold probabilities of a scan at another image size ranks and flags label
# errors better than either scan alone, and better per CPU minute than more fold seeds or larger
# backbones (bench/label_health.py --average; demo / Fashion-MNIST mixed / systematic, flags'
# precision and the wrong labels left after accepting every flag):
#   224 px alone                    .94 / .66 / .56    18 / 83 / 108
#   224 px, 3 fold seeds averaged   .98 / .66 / .59    15 / 85 / 102   (3x the fitting, same embeddings)
#   224 + 128 px                    .99 / .73 / .61    13 / 77 / 101   (+1/3 of the embedding time)
# Lite1 (240 px) or Lite2 (260 px) instead of Lite0 gave no better flags alone on Fashion-MNIST mixed
# (precision .79 / .76 vs .75 without pruning) at 2-3x the embedding time.
COMPANION_SIZES = (224, 128)


def companion_scans(runs: Sequence[RunInfo], run_id: str) -> list[str]:
    """Succeeded scans on the same labels as `run_id` at another (backbone, image size), newest of each.

    What the Issues page and `workbench issues` average with `run_id` by default. A run whose config
    cannot be read is left out.
    """
    by_id = {r.run_id: r for r in runs}
    active = by_id.get(run_id)
    if active is None:
        return []
    seen = {_scan_setting(active)}
    chosen = []
    for run in runs:  # newest first
        if run.run_id == run_id or run.kind != "scan" or run.state != "succeeded":
            continue
        if run.status.get("labels") != active.status.get("labels"):
            continue
        setting = _scan_setting(run)
        if setting is None or setting in seen:
            continue
        seen.add(setting)
        chosen.append(run.run_id)
    return chosen


def companion_scan_config(config: RunConfig) -> RunConfig:
    """`config` as a scan at the first size of COMPANION_SIZES that is not its own (same data, labels, folds)."""
    from dataclasses import replace

    own = config.scan.image_size if config.kind == "scan" else None
    size = next(s for s in COMPANION_SIZES if s != own)
    return replace(config, kind="scan", name=f"label issues, {size} px", scan=replace(config.scan, image_size=size))


def _scan_setting(run: RunInfo) -> tuple[str, int] | None:
    try:
        config = run.config()
    except Exception:  # noqa: BLE001 - a damaged config.yaml: not averaged
        return None
    return (config.scan.backbone, config.scan.image_size) if config.kind == "scan" else ("train", -1)


class NothingNewError(ValueError):
    """A retrain that would train on the labels the run already used."""


def trained_labels(run: RunInfo) -> str:
    """The labels a run trained on: what its job resolved ("original", "v3", ...), else its config's `data.labels`."""
    recorded = run.status.get("labels")
    if isinstance(recorded, str) and recorded:
        return recorded
    try:
        return run.config().data.labels
    except Exception:  # noqa: BLE001 - a damaged config.yaml: unknown labels
        return ""


def newer_versions(labels: str, labels_dir: Path) -> list[int]:
    """Exported versions newer than `labels` (a run's trained labels), oldest first: every version after
    v<N> for "v<N>", every version for "original" (or labels that are no version: a CSV, an expansion)."""
    from core.labels.versions import label_versions

    numbers = [n for n, _ in label_versions(labels_dir)]
    if labels.startswith("v") and labels[1:].isdigit():
        return [n for n in numbers if n > int(labels[1:])]
    return numbers


def retrain_run_config(run: RunInfo, labels_dir: Path) -> RunConfig:
    """`retrain_config` of a run's config, or NothingNewError when no version newer than the labels it
    trained on was exported (a retrain would repeat the run)."""
    used = trained_labels(run)
    config = retrain_config(run.config(), labels_dir)
    is_version = used.startswith("v") and used[1:].isdigit()
    if (is_version or used == "original") and not newer_versions(used, labels_dir):
        raise NothingNewError(nothing_new_message(run.run_id, used))
    return config


def nothing_new_message(run_id: str, labels: str) -> str:
    """What a retrain with no newer labels says instead of starting a duplicate run."""
    from core.io.text import shown

    return f"nothing new: {shown(run_id)} already trained on {shown(labels)}; export cleaned labels first"
