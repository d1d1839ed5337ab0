"""Recipe fit scores: the fit-score job on the demo and Fashion-MNIST, its time per recipe, and whether it ranks.

    .venv/bin/python bench/recipe_fit.py [--projects /tmp/bench/demo,/tmp/bench/fm_mixed]
        [--recipes none,light,document-scan,heavy,default] [--cold] [--check] [--fresh]

Each project is copied once to /tmp/rs/<name> (bench/recipe_scan.py's copies: their embedding caches are
shared). The fit job (core.recipes.fit_job.run_fit_job, in this process, the Recipes page's FitParams)
scores the recipes; `--cold` empties the embedding cache and the fit results first, so every image goes
through the network (the time a user waits the first time). Printed: the seconds of each recipe (its
copies embedded, scored, its kinds and map) and of the whole job, against the target of 60 s for one
recipe on the demo; the train vs test AUC and the kinds of difference.

`--check` then runs a recipe scan with each recipe (1 copy, the copy the fit job embedded, no TTA, 3
folds at 128 px) and prints its test macro-F1 beside the fit score and the Spearman rank correlation of
the two (target >= 0.8: the score ranks recipes as their scans' test macro-F1 does).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import note, report  # noqa: E402
from recipe_scan import project_copy  # noqa: E402

BENCH = "recipe_fit"
TARGET_ONE_RECIPE_S = 60.0
TARGET_SPEARMAN = 0.8


def fit(project: Path, recipes: list[str], *, cold: bool) -> dict[str, float]:
    from core.project.layout import open_layout
    from core.recipes.fit_cache import FitParams, fit_dir
    from core.recipes.fit_job import run_fit_job
    from core.runs.status import read_json

    layout = open_layout(project)
    if cold:
        shutil.rmtree(layout.cache_dir / "embeddings", ignore_errors=True)
    shutil.rmtree(fit_dir(layout), ignore_errors=True)
    params = FitParams()
    start = time.perf_counter()
    scores = run_fit_job(project, recipes, params)
    wall = time.perf_counter() - start
    label = f"{project.name}{' cold' if cold else ''}"
    for path in sorted(fit_dir(layout).glob("*.json")):
        data = read_json(path)
        if "score" in data:
            target = TARGET_ONE_RECIPE_S if project.name == "demo" and data["recipe"] != "none" else None
            report(BENCH, f"{label}: {data['recipe']} fit score {data['score']:.3f}, seconds", data["seconds"], "s",
                   target=target)  # fmt: skip
    report(BENCH, f"{label}: whole job ({len(recipes)} recipes, test and train embedded once)", wall, "s")
    shift = next(iter(read_json(p) for p in fit_dir(layout).glob("shift-*.json")), {})
    if shift:
        differs = [f"{k['kind']} {k['ks']:.2f}" for k in shift["kinds"]]
        note(f"{label}: train vs test AUC {shift['auc']:.3f}; KS per kind: {', '.join(differs)}")
    return scores


def check(project: Path, scores: dict[str, float]) -> None:
    from scipy.stats import spearmanr

    from core.config import resolve_config
    from core.project.layout import open_layout
    from core.runs.entry import main as job_main
    from core.runs.folder import create_run, read_status

    layout = open_layout(project)
    f1 = {}
    for name in scores:
        overrides = ["scan.image_size=128", "data.folds=3", "scan.C=0.005", "scan.prune=0", f"aug.recipe={name}"]
        overrides += ["scan.copies=1"] if name != "none" else []
        run_dir = create_run(layout, resolve_config(kind="scan", overrides=overrides))
        start = time.perf_counter()
        code = job_main(["--config", str(run_dir / "config.yaml")])
        metrics = read_status(run_dir).get("metrics", {})
        if code != 0 or "test_macro_f1" not in metrics:
            note(f"{project.name} {name}: the recipe scan failed ({read_status(run_dir).get('message')})")
            continue
        f1[name] = metrics["test_macro_f1"]
        report(BENCH, f"{project.name}: {name} recipe scan test macro-F1 (fit {scores[name]:.3f})", f1[name], "",
               higher_is_better=True)  # fmt: skip
        note(f"{project.name} {name}: scan {time.perf_counter() - start:.0f} s, run {run_dir.name}")
    if len(f1) >= 4:
        rho = spearmanr([scores[n] for n in f1], [f1[n] for n in f1]).statistic
        report(BENCH, f"{project.name}: Spearman(fit score, test macro-F1) over {len(f1)} recipes", rho, "",
               target=TARGET_SPEARMAN, higher_is_better=True)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default="/tmp/bench/demo,/tmp/bench/fm_mixed")
    parser.add_argument("--recipes", default="none,light,document-scan,heavy,default")
    parser.add_argument("--cold", action="store_true", help="empty the embedding cache first")
    parser.add_argument("--check", action="store_true", help="a recipe scan per recipe, and the rank correlation")
    parser.add_argument("--fresh", action="store_true", help="copy the projects again")
    args = parser.parse_args(argv)
    print(f"[{BENCH}] os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}", flush=True)
    recipes = [r for r in args.recipes.split(",") if r]
    for source in [Path(p) for p in args.projects.split(",") if p]:
        project = project_copy(source, fresh=args.fresh)
        scores = fit(project, recipes, cold=args.cold)
        if args.check:
            if (project / "test_labels.csv").is_file():
                check(project, scores)
            else:
                note(f"{project.name}: no test_labels.csv, no recipe scans to check the ranking against")


if __name__ == "__main__":
    main()
