"""Recipe fit scores as a background job: how close "train + recipe" looks to test, recipe by recipe.

    start_fit(layout, recipes, params)   launches the job (core.runs.jobs.start_once) unless one is at work
    fit_status(layout)                   the job's status (state, progress, message), as for every job
    run_fit_job(project, recipes, params) the job's work (`python -m core.recipes.fit_job --project DIR
                                         --recipes a,b --params JSON` runs it)

One job per project at a time scores the recipes it is given one after another. It embeds (cached per
project, core.embeddings.features) `test_rows` test images and `train_rows` train images as they are,
and one recipe copy of those train images per recipe (core.scan.views.RecipeCopy, the same copies a
recipe scan with data.seed = params.seed embeds first); the score is core.recipes.fit.fit_score
(-MMD^2 in a test-fitted PCA space: the measure that ranked recipes as their recipe scans' test
macro-F1 did on both bench projects). Per recipe it also writes:
  - which kinds of difference the recipe's copies still show against test (core.analysis.shift,
    on `stat_rows` images each side), and
  - a UMAP map (core.embeddings.projection) of the train rows, their copies and the test rows, for the
    Recipes page's overlay.
Once per data sample it writes the train vs test report the Overview shows (domain classifier AUC and
the kinds of difference). The files and their readers: core.recipes.fit_cache.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.io.atomic import atomic_write, write_text_atomic
from core.recipes.fit_cache import (
    FitParams,
    data_key,
    fit_dir,
    fit_sample,
    log_file,
    recipe_key,
    result_file,
    shift_file,
    status_file,
)
from core.runs.jobs import start_once
from core.runs.progress import Callbacks, TeeCallbacks
from core.runs.status import StatusFile, job_status

if TYPE_CHECKING:
    from core.analysis.shift import KindShift
    from core.project.layout import ProjectLayout
    from core.recipes.store import Recipe

JOB_MODULE = "core.recipes.fit_job"
ENDED = "the fit-score job ended without a result"


# ---------------------------------------------------------------- starting and watching


def fit_status(layout: ProjectLayout) -> dict[str, Any]:
    """The job's status: state (missing | queued | running | succeeded | failed), progress, message."""
    return job_status(status_file(layout), log=log_file(layout), identity=JOB_MODULE, ended=ENDED)


def start_fit(layout: ProjectLayout, recipes: list[str], params: FitParams | None = None) -> bool:
    """Launch the fit job for `recipes` detached unless one is queued or running; True when started."""
    from core.embeddings.projection_job import numba_env
    from core.recipes.store import check_name

    params = (params or FitParams()).validate()
    names = [check_name(name) for name in recipes]
    if not names:
        raise ValueError("no recipe to score")
    fit_dir(layout).mkdir(parents=True, exist_ok=True)
    return start_once(
        JOB_MODULE,
        ["--project", str(layout.root), "--recipes", ",".join(names), "--params", json.dumps(asdict(params))],
        status=status_file(layout),
        log=log_file(layout),
        identity=JOB_MODULE,
        env=numba_env(),
        name="reap-fit",
        message=f"scoring {', '.join(names)}",
        recipes=names,
        started=time.time(),
    )


# ---------------------------------------------------------------- the job


def _embed(paths: list[str], params: FitParams, layout: ProjectLayout, view: Any, callbacks: Any, span, message: str):
    from core.embeddings.features import compute_embeddings

    return compute_embeddings(
        paths,
        backbone=params.backbone,
        pretrained=params.pretrained,
        image_size=params.image_size,
        batch_size=params.batch_size,
        features=params.features,
        cache_dir=layout.cache_dir,
        view=view,
        callbacks=callbacks,
        progress_span=span,
        message=message,
    )


def _recipe_statistics(recipe: Recipe, paths: list[str], params: FitParams) -> pd.DataFrame:
    """Pixel statistics of each image's first recipe copy (the pixels RecipeCopy gives; unreadable ones skipped)."""
    from core.analysis.shift import folder_statistics
    from core.recipes.apply import apply_recipe
    from core.scan.views import image_seed

    return folder_statistics(
        paths, transform=lambda pixels, path: apply_recipe(recipe, pixels, seed=image_seed(params.seed, 0, path))
    )


def _kinds_json(kinds: list[KindShift]) -> list[dict[str, Any]]:
    return [asdict(k) for k in kinds]


def _write_overlay(out: Path, train_ids: list[str], test_ids: list[str], stacked: np.ndarray, callbacks: Any) -> None:
    from core.embeddings.projection import ProjectionParams, project_embeddings

    xy = project_embeddings(stacked, params=ProjectionParams(), callbacks=callbacks)
    n = len(train_ids)
    ids = np.asarray([*train_ids, *train_ids, *test_ids])
    sets = np.asarray(["train"] * n + ["copy"] * n + ["test"] * len(test_ids))
    with atomic_write(out, "wb") as handle:
        np.savez(handle, ids=ids, sets=sets, xy=np.asarray(xy, dtype=np.float32))


def _shift_report(train_emb, test_emb, stat_train, stat_test, *, train: int, test: int, params: FitParams) -> dict:
    """The train vs test report: the domain classifier's AUC and the kinds of difference (core.analysis.shift)."""
    from core.analysis.shift import domain_auc, shift_kinds

    return {
        "auc": domain_auc(train_emb, test_emb, seed=params.seed),
        "kinds": _kinds_json(shift_kinds(stat_train, stat_test)),
        "train": train,
        "test": test,
        "params": asdict(params),
    }


def _score_recipe(name: str, sample: dict[str, Any], params: FitParams, callbacks: Any, span) -> float:
    """One recipe: its copies embedded and scored, what still differs, its map; result files written."""
    from core.analysis.shift import shift_kinds
    from core.recipes.fit import fit_score
    from core.recipes.store import load_recipe, recipes_dir
    from core.runs.progress import SpanCallbacks
    from core.scan.views import RecipeCopy

    began = time.perf_counter()
    layout, train = sample["layout"], sample["train"]
    low, mid, high = span
    recipe = load_recipe(name, recipes_dir=recipes_dir(layout))
    if recipe.compose.transforms:
        view = RecipeCopy(
            recipe_name=recipe.name, recipe_yaml=recipe.yaml_text, version=recipe.version, seed=params.seed, copy=0
        )
        copies = _embed(train["path"].tolist(), params, layout, view, callbacks, (low, mid), f"embedding {name} copies")
    else:
        copies = sample["train_emb"]
    score = fit_score(sample["reference"], copies, seed=params.seed)
    callbacks.on_progress(progress=mid, message=f"{name}: what still differs, and its map")
    stat_copies = _recipe_statistics(recipe, train["path"].tolist()[: params.stat_rows], params)
    kinds = shift_kinds(stat_copies, sample["stat_test"])
    out = result_file(layout, name, recipe_key(recipe.version, sample["key"]))
    stacked = np.concatenate([sample["train_emb"], copies, sample["test_emb"]])
    ids = (train["ID"].tolist(), sample["test"]["ID"].tolist())
    _write_overlay(out.with_suffix(".npz"), *ids, stacked, SpanCallbacks(callbacks, (mid, high)))
    seconds = round(time.perf_counter() - began, 1)
    result = {"recipe": name, "version": recipe.version, "score": score, "seconds": seconds,
              "kinds": _kinds_json(kinds), "params": asdict(params)}  # fmt: skip
    write_text_atomic(out, json.dumps(result, indent=1) + "\n")
    print(f"{name} ({recipe.version}): fit score {score:.4f} in {seconds:.1f} s", file=sys.stderr, flush=True)
    return score


def run_fit_job(
    project: str | Path, recipes: list[str], params: FitParams, *, echo: Callbacks | None = None
) -> dict[str, float]:
    """The job: score each recipe (module docstring), status written throughout (and told `echo`,
    e.g. a terminal); {name: score}."""
    from core.analysis.shift import folder_statistics
    from core.embeddings.projection_job import JobProgress
    from core.project.dataset import load_dataset
    from core.recipes.fit import fit_reference

    params = params.validate()
    data = load_dataset(project)
    layout = data.layout
    fit_dir(layout).mkdir(parents=True, exist_ok=True)
    status = StatusFile(status_file(layout))
    status.forget("traceback")
    status.update(pid=os.getpid(), pgid=os.getpgrp(), state="running", recipes=recipes, params=asdict(params))
    progress = JobProgress(status)
    callbacks = TeeCallbacks(progress, echo) if echo is not None else progress
    scores: dict[str, float] = {}
    try:
        if not data.report.usable:
            raise ValueError(f"project {layout.root} cannot be used: run `workbench check` for what is wrong")
        train, test = fit_sample(data, params)
        if len(train) < 2 or len(test) < 2:
            raise ValueError(f"need at least 2 train and 2 test images, the project has {len(train)} and {len(test)}")
        steps = 2 + 2 * len(recipes)
        test_paths, train_paths = test["path"].tolist(), train["path"].tolist()
        sample = {"layout": layout, "train": train, "test": test, "key": data_key(data, params)}
        sample["test_emb"] = _embed(
            test_paths, params, layout, None, callbacks, (0, 1 / steps), "embedding test images"
        )
        sample["train_emb"] = _embed(train_paths, params, layout, None, callbacks, (1 / steps, 2 / steps),
                                     "embedding train images")  # fmt: skip
        callbacks.on_progress(progress=2 / steps, message="the test reference space; how test differs from train")
        sample["reference"] = fit_reference(sample["test_emb"], seed=params.seed)
        sample["stat_test"] = folder_statistics(test_paths[: params.stat_rows])
        if not shift_file(layout, sample["key"]).is_file():
            stat_train = folder_statistics(train_paths[: params.stat_rows])
            report = _shift_report(sample["train_emb"], sample["test_emb"], stat_train, sample["stat_test"],
                                   train=len(train), test=len(test), params=params)  # fmt: skip
            write_text_atomic(shift_file(layout, sample["key"]), json.dumps(report, indent=1) + "\n")
        for i, name in enumerate(recipes):
            span = ((2 + 2 * i) / steps, (3 + 2 * i) / steps, (4 + 2 * i) / steps)
            scores[name] = _score_recipe(name, sample, params, callbacks, span)
    except BaseException as exc:
        status.update(state="failed", message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()[-4000:])
        raise
    status.update(
        state="succeeded",
        progress=1.0,
        message=", ".join(f"{name} {score:.3f}" for name, score in scores.items()),
        duration_s=round(time.perf_counter() - progress.began, 1),
    )
    return scores


def main(argv: list[str] | None = None) -> int:
    from core.embeddings.projection_job import prepare_numba

    parser = argparse.ArgumentParser(description="Score noise recipes by how close their copies look to test (a job).")
    parser.add_argument("--project", required=True)
    parser.add_argument("--recipes", required=True, help="comma-separated recipe names")
    parser.add_argument("--params", default="{}", help="FitParams as JSON")
    args = parser.parse_args(argv)
    prepare_numba()
    params = FitParams(**json.loads(args.params))
    run_fit_job(args.project, [name for name in args.recipes.split(",") if name], params)
    return 0


if __name__ == "__main__":
    sys.exit(main())
