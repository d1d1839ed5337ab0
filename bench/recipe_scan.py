"""Recipe scans: a plain scan vs scans with recipe copies (scan.copies) and dihedral TTA (scan.tta), test macro-F1.

    .venv/bin/python bench/recipe_scan.py [--projects /tmp/bench/demo,/tmp/bench/fm_mixed] [--size 128]
        [--folds 5] [--variant NAME=KEY=VALUE,KEY=VALUE ...] [--warm] [--fresh]

Each project (it needs test_labels.csv: the hold-out the test macro-F1 is scored on) is copied once to
/tmp/rs/<name> (`--fresh`: copied again), so the original stays as it is. Each variant is one scan job
through the job entry (core.runs.entry.main, in this process, as `workbench scan` runs it) at
--size px with --folds folds. Before each, the copy's embedding cache is emptied (cold: every image
through the network), unless --warm. Per variant: test and OOF macro-F1, wall seconds, embedding
seconds, images embedded (originals + copies + test views) and images/s, fold-fitting seconds.

Default variants: plain (the default scan) and recipe (document-scan, 4 copies + TTA: the recipe
scan's defaults). Target: a variant with copies reaches test macro-F1 >= 0.75. Each copy also holds
the recipe `bench-testlike` (BENCH_RECIPE: the demo's test noise imitated more closely than the
presets do: strong ink and paper colour shifts, inversion, noise on every image), for
`--variant testlike=aug.recipe=bench-testlike,scan.copies=4,scan.tta=true`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import note, report  # noqa: E402

BENCH = "recipe_scan"
COPIES_ROOT = Path("/tmp/rs")
TARGET_F1 = 0.75
RECIPE = ["aug.recipe=document-scan", "scan.copies=4", "scan.tta=true"]
VARIANTS = {"plain": [], "recipe": RECIPE}
BENCH_RECIPE = "bench-testlike"


def save_bench_recipe(project: Path) -> None:
    """recipes/bench-testlike.yaml in the project copy (see the module docstring)."""
    from core.io.atomic import write_text_atomic
    from core.project.layout import open_layout
    from core.recipes.presets import albumentations
    from core.recipes.store import recipe_to_yaml, recipes_dir

    A = albumentations()
    compose = A.Compose(
        [
            A.RandomRotate90(p=1.0),
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.InvertImg(p=0.15),
            A.RGBShift(r_shift_limit=(-60, 60), g_shift_limit=(-60, 60), b_shift_limit=(-60, 60), p=0.9),
            A.RandomBrightnessContrast(brightness_limit=(-0.12, 0.12), contrast_limit=(-0.35, 0.25), p=0.7),
            A.GaussianBlur(sigma_limit=(0.6, 1.6), p=0.4),
            A.GaussNoise(std_range=(0.015, 0.11), p=1.0),
        ],
        p=1.0,
    )
    folder = recipes_dir(open_layout(project))
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / f"{BENCH_RECIPE}.yaml", recipe_to_yaml(compose))  # not save_recipe: no preset copies


def project_copy(source: Path, *, fresh: bool) -> Path:
    """/tmp/rs/<name>: a copy of the project (made once; --fresh makes it again)."""
    target = COPIES_ROOT / source.name
    if fresh and target.exists():
        shutil.rmtree(target)
    if not target.exists():
        COPIES_ROOT.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target, symlinks=True)
    # The shipped presets are what is measured: copies a write path made of them (core.recipes.store.ensure_presets)
    # would keep an older version of a preset in this copy.
    from core.recipes.presets import PRESETS

    for name in PRESETS:
        (target / ".workbench" / "recipes" / f"{name}.yaml").unlink(missing_ok=True)
    return target


def scan_figures(run_dir: Path) -> tuple[float, int, float]:
    """(embedding s, images embedded, folds s) from the scan's last log line."""
    from core.runs.folder import read_events

    for event in reversed(read_events(run_dir, kinds=("message",))):
        found = re.search(r"embedding ([\d.]+) s \(([\d,]+) images\), folds ([\d.]+) s", event.get("text", ""))
        if found:
            return float(found.group(1)), int(found.group(2).replace(",", "")), float(found.group(3))
    return float("nan"), 0, float("nan")


def run_variant(project: Path, name: str, overrides: list[str], *, warm: bool) -> None:
    from core.config import resolve_config
    from core.project.layout import open_layout
    from core.runs.entry import main as job_main
    from core.runs.folder import create_run, read_status

    layout = open_layout(project)
    if not warm:
        shutil.rmtree(layout.cache_dir / "embeddings", ignore_errors=True)
    run_dir = create_run(layout, resolve_config(kind="scan", overrides=overrides))
    print(f"[{BENCH}] {project.name} {name}: {' '.join(overrides)} (load {os.getloadavg()[0]:.2f})", flush=True)
    start = time.perf_counter()
    code = job_main(["--config", str(run_dir / "config.yaml")])
    wall = time.perf_counter() - start
    status = read_status(run_dir)
    if code != 0:
        note(f"{name} failed (exit {code}): {status.get('message')}")
        return
    metrics = status.get("metrics", {})
    embed_s, images, fit_s = scan_figures(run_dir)
    label = f"{project.name} {name}"
    target = TARGET_F1 if "scan.copies" in " ".join(overrides) else None
    report(BENCH, f"{label}: test macro-F1", metrics.get("test_macro_f1", float("nan")), "", target=target,
           higher_is_better=True)  # fmt: skip
    report(BENCH, f"{label}: OOF macro-F1", metrics.get("oof_macro_f1", float("nan")), "")
    report(BENCH, f"{label}: wall", wall, "s")
    report(BENCH, f"{label}:   embedding ({images:,} images{', warm cache' if warm else ''})", embed_s, "s")
    if not warm:  # warm, most rows come from the cache: no throughput to speak of
        report(BENCH, f"{label}:   embedding throughput", images / embed_s if embed_s > 0 else 0.0, "img/s")
    report(BENCH, f"{label}:   folds (C = {metrics.get('scan_C', float('nan')):g})", fit_s, "s")
    note(f"{label}: run {run_dir.name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default="/tmp/bench/demo,/tmp/bench/fm_mixed")
    parser.add_argument("--size", type=int, default=128, help="scan.image_size of every variant")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME=KEY=VALUE,KEY=VALUE (repeatable; replaces the default variants), e.g. c2=scan.copies=2",
    )
    parser.add_argument("--warm", action="store_true", help="keep the embedding cache between variants")
    parser.add_argument("--fresh", action="store_true", help="copy the projects again")
    args = parser.parse_args(argv)
    variants = dict(VARIANTS)
    if args.variant:
        variants = {}
        for item in args.variant:
            name, _, rest = item.partition("=")
            variants[name] = [x for x in rest.split(",") if x]
    print(f"[{BENCH}] os.cpu_count()={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}", flush=True)
    for source in [Path(p) for p in args.projects.split(",") if p]:
        if not (source / "test_labels.csv").is_file():
            note(f"{source}: no test_labels.csv, skipped (the test macro-F1 needs the hold-out)")
            continue
        project = project_copy(source, fresh=args.fresh)
        save_bench_recipe(project)
        for name, overrides in variants.items():
            common = [f"scan.image_size={args.size}", f"data.folds={args.folds}"]
            run_variant(project, name, common + overrides, warm=args.warm)


if __name__ == "__main__":
    main()
