"""`workbench recipes`: every noise recipe with its fit score (how close its copies of train look to test)."""

from __future__ import annotations

import argparse
import math
import sys

from core.cli.project import open_project


def add_recipes_command(sub) -> None:
    recipes = sub.add_parser(
        "recipes", help="noise recipes with their fit scores, and how test differs from train; --score scores them"
    )
    recipes.add_argument("--project", required=True)
    recipes.add_argument(
        "--score", action="store_true", help="score the recipes not scored yet first (15-45 s each on a CPU)"
    )
    recipes.add_argument("--recipes", help="comma-separated names to score with --score (default: every usable one)")
    recipes.set_defaults(func=cmd_recipes)


def cmd_recipes(args: argparse.Namespace) -> int:
    from core.project.dataset import load_dataset
    from core.recipes.fit_cache import FitParams, data_key, fit_keys, fit_results, read_shift
    from core.recipes.fit_job import run_fit_job
    from core.recipes.store import list_recipes
    from core.runs.progress import TerminalProgress

    layout = open_project(args.project)
    if layout is None:
        return 1
    data = load_dataset(layout.root)
    if not data.report.usable:
        print(f"error: {layout.root} cannot be used; `workbench check` says why", file=sys.stderr)
        return 1
    params = FitParams()
    infos = list_recipes(layout)
    keys = fit_keys(data, infos, params)
    if args.score:
        wanted = [n.strip() for n in args.recipes.split(",") if n.strip()] if args.recipes else list(keys)
        unknown = [n for n in wanted if n not in keys]
        if unknown:
            print(f"error: no usable recipe {', '.join(unknown)} (usable: {', '.join(keys)})", file=sys.stderr)
            return 1
        todo = [n for n in wanted if n not in fit_results(layout, {n: keys[n] for n in wanted})]
        if todo:
            try:
                run_fit_job(layout.root, todo, params, echo=TerminalProgress("scoring"))
            except Exception as exc:  # noqa: BLE001 - the job's status file keeps the traceback
                print(f"error: scoring failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                return 1
    _print_report(read_shift(layout, data_key(data, params)))
    results = fit_results(layout, keys)
    print("recipe,version,fit_score,far_off,partly_off")
    for info in infos:
        result = results.get(info.name)
        if info.error:
            print(f"{info.name},,,,", end="")
            print(f"  # cannot be used: {info.error[:200]}", file=sys.stderr)
            print()
            continue
        score = f"{result.score:.4f}" if result and math.isfinite(result.score) else ""
        far = " ".join(result.far_off) if result else ""
        partly = " ".join(result.partly) if result else ""
        print(f"{info.name},{info.version},{score},{far},{partly}")
    if not results and not args.score:
        print("no recipe scored yet: `workbench recipes --project DIR --score`", file=sys.stderr)
    return 0


def _print_report(report: dict | None) -> None:
    from core.analysis.shift import describe_auc, kind_shifts

    if report is None:
        return
    try:
        print(
            f"train vs test: {describe_auc(float(report['auc']))} (ROC AUC {float(report['auc']):.2f})", file=sys.stderr
        )
    except (KeyError, TypeError, ValueError):
        pass
    for shift in kind_shifts(report.get("kinds", [])):
        if shift.differs:
            print(f"  {shift.sentence()}", file=sys.stderr)
