"""Every run of a project, rebuilt from the run folders alone (after a restart too).

list_runs(layout)         newest first, dead jobs marked failed (core.runs.jobs.refresh_liveness)
find_run(layout, run_id)  the run named, or the newest that succeeded
runs_table(runs)          one row per run: the Runs page's table and `workbench jobs`
retrain_config(config, labels_dir)   the same config on the newest clean labels version
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
