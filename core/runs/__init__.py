"""Runs and the background jobs that make them: the run folder contract, the catalogue, jobs, folds.

folder    the run folder (DESIGN.md): status.json, events.jsonl, artifacts; writers and readers
catalog   list_runs / find_run / runs_table / retrain_config, rebuilt from the folders
jobs      detached job processes for every background job: spawn, start_once, slots, cancel
artifacts  a run's oof.csv / test_probs.csv / embeddings read checked: RunDamaged instead of a partial analysis
manage     delete to the trash and restore, display names, the pinned active run
status    the status file every background job keeps: StatusFile, queued record, pid, liveness
progress  Callbacks, the one progress protocol; adapters for status files, run folders, terminals
folds     ONE fold splitter for scan and train runs
inputs    RunInputs: what a job works on, resolved once
entry     the job entry point (`python -m core.train --config FILE`)
"""

from __future__ import annotations

from core.runs.catalog import RunInfo, find_run, list_runs, retrain_config, runs_table
from core.runs.folder import create_run, prob_columns, read_oof, read_status, read_test_probs
from core.runs.folds import assign_folds, fold_splits
from core.runs.inputs import RunInputs, prepare_inputs
from core.runs.jobs import cancel_job, spawn, start_job, start_once
from core.runs.progress import Callbacks, TerminalProgress
from core.runs.status import StatusFile, job_status

__all__ = [
    "Callbacks",
    "RunInfo",
    "RunInputs",
    "StatusFile",
    "TerminalProgress",
    "assign_folds",
    "cancel_job",
    "create_run",
    "find_run",
    "fold_splits",
    "job_status",
    "list_runs",
    "prepare_inputs",
    "prob_columns",
    "read_oof",
    "read_status",
    "read_test_probs",
    "retrain_config",
    "runs_table",
    "spawn",
    "start_job",
    "start_once",
]
