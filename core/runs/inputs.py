"""What a job works on, resolved once at its start: the project, the labels, the config.

prepare_inputs(run_dir, config) -> RunInputs   (the scan and the training loop take RunInputs)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.config import RunConfig
from core.project.dataset import Dataset, load_dataset
from core.project.layout import ProjectLayout


@dataclass
class RunInputs:
    """Everything a scan or a training loop needs, resolved once at the start of the job."""

    layout: ProjectLayout
    dataset: Dataset
    config: RunConfig
    run_dir: Path
    train: pd.DataFrame  # ID, target, path: the labels this run trains on
    test: pd.DataFrame  # ID, path
    labels_name: str

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes


def project_of(run_dir: Path) -> Path:
    """<project>/.workbench/runs/<run_id> -> <project>."""
    return run_dir.resolve().parent.parent.parent


def prepare_inputs(run_dir: Path, config: RunConfig) -> RunInputs:
    from core.labels.versions import resolve_labels

    dataset = load_dataset(project_of(run_dir))
    if not dataset.report.usable:
        raise RuntimeError("the project is not usable:\n" + "\n".join(f.message for f in dataset.report.errors))
    train, labels_name = resolve_labels(dataset, config.data.labels)
    return RunInputs(
        layout=dataset.layout,
        dataset=dataset,
        config=config,
        run_dir=run_dir,
        train=train,
        test=dataset.test[["ID", "path"]].copy(),
        labels_name=labels_name,
    )
