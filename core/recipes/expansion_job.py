"""A project's offline expansion, from the command line or as a background job (core.runs.jobs).

    run_expansion(project, recipe=, copies=, labels=, seed=, workers=, name=, replace=, callbacks=)
                                    the project's train rows under `labels`, the recipe by name, then
                                    core.recipes.expansion.expand_train_set: what `workbench expand` runs
    start_expansion(layout, recipe=, copies=, ...) -> (name, started)
                                    the same as a detached job, unless one is at work on that name
    expansion_status(layout, name)  the job's status: state, progress, step/steps, message, folder, skipped
    python -m core.recipes.expansion_job --project DIR --recipe NAME --copies K --status FILE [...]

The job keeps `.workbench/augmented/.jobs/<name>.status.json` (core.runs.status) and its log
beside it; a page polls the status. A job that dies leaves no finished expansion, only the hidden
partial folder that the next run with the same settings resumes.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from core.labels.versions import resolve_labels
from core.project.dataset import load_dataset
from core.project.layout import ProjectLayout
from core.recipes.augmented import PREFIX, ExpansionError, augmented_dir, default_name, safe_name
from core.recipes.expansion import ExpansionResult, expand_train_set
from core.recipes.store import load_recipe, recipes_dir
from core.runs.jobs import start_once
from core.runs.progress import Callbacks, StatusCallbacks
from core.runs.status import StatusFile, job_status, now_iso

JOB_MODULE = "core.recipes.expansion_job"  # `python -m` this module: the job's entry point


ENDED = "the expansion job ended without finishing (its copies so far are kept; start it again to resume)"


def pinned_labels(spec: str, labels_name: str) -> str:
    """What the manifest records so that the same rows can be read again: "original" and "v<N>" as
    they are ("latest" becomes the version it meant), a CSV as its absolute path."""
    if labels_name == "original" or re.fullmatch(r"v\d+", labels_name):
        return labels_name
    return str(Path(spec).expanduser().resolve())


def run_expansion(
    project: str | Path,
    *,
    recipe: str,
    copies: int,
    labels: str = "latest",
    seed: int = 0,
    workers: int | None = None,
    name: str | None = None,
    replace: bool = False,
    callbacks: Callbacks | None = None,
) -> ExpansionResult:
    """Expand the project's train images under `labels` ("latest": the newest version, else train.csv).

    `name` defaults to "<recipe>-x<copies>" and is made safe (core.recipes.augmented.safe_name).
    Raises ValueError (ExpansionError, LabelsError, RecipeError) naming what is wrong.
    """
    callbacks = callbacks or Callbacks()
    spec = (labels or "latest").strip()
    if spec.startswith(PREFIX):
        raise ExpansionError(f"labels {spec!r}: an expansion expands train labels (original, latest, v<N>, a CSV)")
    callbacks.on_progress(progress=0.0, message="reading the project")
    dataset = load_dataset(project)
    if not dataset.report.usable:
        raise ExpansionError("the project is not usable: " + "; ".join(f.message for f in dataset.report.errors))
    rows, labels_name = resolve_labels(dataset, spec)
    layout = dataset.layout
    loaded = load_recipe(recipe, recipes_dir=recipes_dir(layout))
    return expand_train_set(
        layout,
        rows,
        loaded,
        copies=copies,
        name=safe_name(name) if name else default_name(recipe, copies),
        labels=pinned_labels(spec, labels_name),
        seed=seed,
        workers=workers,
        replace=replace,
        callbacks=callbacks,
    )


# ------------------------------------------------------------------ the background job


def _job_files(layout: ProjectLayout, name: str) -> tuple[Path, Path]:
    folder = augmented_dir(layout) / ".jobs"
    return folder / f"{name}.status.json", folder / f"{name}.log"


def start_expansion(
    layout: ProjectLayout,
    *,
    recipe: str,
    copies: int,
    labels: str = "latest",
    seed: int = 0,
    workers: int | None = None,
    name: str | None = None,
    replace: bool = False,
) -> tuple[str, bool]:
    """(the expansion's name, whether a job was started): `run_expansion` detached, through
    core.runs.jobs.start_once (not started while a job on that name is queued or running)."""
    name = safe_name(name) if name else default_name(recipe, copies)
    status, log = _job_files(layout, name)
    status.parent.mkdir(parents=True, exist_ok=True)
    args = ["--project", str(layout.root), "--recipe", recipe, "--copies", str(int(copies)), "--labels", labels]
    args += ["--seed", str(int(seed)), "--name", name, "--status", str(status)]
    if workers:
        args += ["--workers", str(int(workers))]
    if replace:
        args.append("--replace")
    started = start_once(
        JOB_MODULE,
        args,
        status=status,
        log=log,
        identity=str(status),
        name=f"reap-expand-{name}",
        message="starting",
        expansion=name,
        recipe=recipe,
        copies=int(copies),
    )
    return name, started


def expansion_status(layout: ProjectLayout, name: str) -> dict[str, Any]:
    """The job's status as a page shows it (state `missing` when no job was started for `name`)."""
    status, log = _job_files(layout, safe_name(name))
    return job_status(status, log=log, identity=str(status), ended=ENDED)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Write augmented copies of a project's train images (a job).")
    parser.add_argument("--project", required=True)
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--copies", type=int, required=True)
    parser.add_argument("--labels", default="latest")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--name")
    parser.add_argument("--replace", action="store_true")
    parser.add_argument("--status", required=True, help="the status file this job keeps")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    status = StatusFile(args.status)
    status.forget("traceback", "folder", "skipped")  # of an earlier attempt
    status.update(pid=os.getpid(), pgid=os.getpgrp(), state="running", message="starting")
    try:
        result = run_expansion(
            args.project,
            recipe=args.recipe,
            copies=args.copies,
            labels=args.labels,
            seed=args.seed,
            workers=args.workers,
            name=args.name,
            replace=args.replace,
            callbacks=StatusCallbacks(status),
        )
    except BaseException as exc:
        expected = isinstance(exc, ValueError)  # a message for the user, not a bug: no traceback
        status.update(
            state="failed",
            message=f"{type(exc).__name__}: {exc}" if not expected else str(exc),
            finished_at=now_iso(),
            **({} if expected else {"traceback": traceback.format_exc()[-4000:]}),
        )
        print(f"error: {exc}", file=sys.stderr)
        if expected:
            return 1
        raise
    done = "already written" if result.already else f"{result.images:,} images in {result.seconds:.1f} s"
    status.update(
        state="succeeded",
        progress=1.0,
        message=done + (f", {len(result.skipped)} image(s) skipped" if result.skipped else ""),
        folder=str(result.folder),
        images=result.images,
        skipped=result.skipped[:100],
        finished_at=now_iso(),
    )
    print(f"{done}: {result.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
