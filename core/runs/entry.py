"""The job entry point: `python -m core.train --config <run_dir>/config.yaml`.

Started detached by core.runs.jobs (or by hand). It waits for a slot, runs the scan or the training
that the config names, writes the artifacts and the final status, and never leaves a run in
`running`: success, a failure with its traceback tail, or a cancellation (SIGTERM) is recorded.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from core.config import load_config
from core.runs.folder import OOF, TEST_PROBS, RunWriter, read_oof, read_test_probs
from core.runs.inputs import RunInputs, prepare_inputs, project_of
from core.runs.progress import Callbacks, RunCallbacks
from core.runs.status import now_iso


class Cancelled(Exception):
    """Raised in the job's main thread by SIGTERM (cancel)."""


def execute(inputs: RunInputs, callbacks: Callbacks) -> tuple[dict[str, float], dict[str, int]]:
    """Run the scan or the training; returns (headline metrics computed from the artifacts, the rows
    oof.csv and test_probs.csv hold: `oof_rows`, `test_probs_rows`, which tell a page a file cut short)."""
    from core.analysis.predictions import prediction_table
    from core.analysis.scores import headline_metrics

    if inputs.config.kind == "scan":
        from core.scan.run import run_scan

        extra = run_scan(inputs, callbacks)
    else:
        from core.training.run import run_training

        run_training(inputs, callbacks)
        extra = {}
    oof = read_oof(inputs.run_dir) if (inputs.run_dir / OOF).is_file() else None
    test_probs = read_test_probs(inputs.run_dir) if (inputs.run_dir / TEST_PROBS).is_file() else None
    table = prediction_table(oof, test_probs, inputs.dataset.test_labels, num_classes=inputs.num_classes)
    rows = {
        "oof_rows": len(oof) if oof is not None else 0,
        "test_probs_rows": len(test_probs) if test_probs is not None else 0,
    }
    return {**headline_metrics(table, num_classes=inputs.num_classes), **extra}, rows


def _raise_cancelled(signum, frame):  # noqa: ARG001
    raise Cancelled()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.train")
    parser.add_argument("--config", required=True, help="<run_dir>/config.yaml written by core.runs.folder.create_run")
    args = parser.parse_args(argv)
    config_path = Path(args.config).resolve()
    run_dir = config_path.parent
    writer = RunWriter(run_dir)
    writer.status(pid=os.getpid(), pgid=os.getpgrp(), state="queued", message="waiting for a free slot")
    signal.signal(signal.SIGTERM, _raise_cancelled)
    started = time.time()
    try:
        from core.runs.jobs import job_slot

        config = load_config(config_path)
        layout_root = project_of(run_dir)
        from core.project.layout import open_layout

        layout = open_layout(layout_root)
        # One slot per GPU a job uses; a CPU job (even DDP over CPU processes) takes the single CPU slot.
        need = config.train.gpus if config.kind == "train" and config.train.device != "cpu" else 1
        with job_slot(layout, need=need) as slots:
            if Path("/dev/nvidia0").exists() and "CUDA_VISIBLE_DEVICES" not in os.environ:
                os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(s) for s in slots)
            writer.status(state="running", started_at=now_iso(), message="loading the project")
            callbacks = RunCallbacks(writer)
            inputs = prepare_inputs(run_dir, config)
            writer.status(labels=inputs.labels_name, train_rows=len(inputs.train), test_rows=len(inputs.test))
            metrics, rows = execute(inputs, callbacks)
        writer.status(
            state="succeeded",
            progress=1.0,
            finished_at=now_iso(),
            metrics=metrics,
            **rows,
            duration_s=round(time.time() - started, 1),
            message="finished",
        )
        print(f"succeeded in {time.time() - started:.1f} s: {metrics}", flush=True)
        return 0
    except (Cancelled, KeyboardInterrupt):
        writer.status(
            state="cancelled",
            finished_at=now_iso(),
            duration_s=round(time.time() - started, 1),
            message="cancelled by the user; finished folds are kept",
        )
        print("cancelled", flush=True)
        return 130
    except BaseException as exc:  # noqa: BLE001 - every failure must reach status.json
        tail = "".join(traceback.format_exception(exc))[-4000:]
        writer.status(
            state="failed",
            finished_at=now_iso(),
            duration_s=round(time.time() - started, 1),
            message=f"{type(exc).__name__}: {exc}",
            traceback=tail,
        )
        print(tail, file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
