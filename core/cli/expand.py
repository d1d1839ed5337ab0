"""`workbench expand`: augmented copies of every train image written to disk (offline expansion)."""

from __future__ import annotations

import argparse
import sys

from core.cli.project import open_project


def add_expand_command(sub) -> None:
    expand = sub.add_parser(
        "expand",
        help="write K augmented copies of every train image to .workbench/augmented/NAME/; last line: its folder",
    )
    expand.add_argument("--project", required=True)
    expand.add_argument("--recipe", required=True, help="noise recipe name (a preset or .workbench/recipes/NAME.yaml)")
    expand.add_argument("--copies", type=int, required=True, metavar="K", help="copies per train image (1-1000)")
    expand.add_argument(
        "--labels",
        default="latest",
        help="original | latest (default: newest clean version, else original) | v<N> | CSV",
    )
    expand.add_argument("--workers", type=int, metavar="W", help="worker processes (default: min(4, CPU cores))")
    expand.add_argument("--name", help="folder name under .workbench/augmented/ (default: RECIPE-xK)")
    expand.add_argument("--seed", type=int, default=0, help="the same seed writes the same bytes (default 0)")
    expand.add_argument("--replace", action="store_true", help="replace an expansion of that name made otherwise")
    expand.set_defaults(func=cmd_expand)


def cmd_expand(args: argparse.Namespace) -> int:
    from core.recipes.expansion_job import run_expansion
    from core.runs.progress import TerminalProgress

    layout = open_project(args.project)
    if layout is None:
        return 1
    try:
        result = run_expansion(
            layout.root,
            recipe=args.recipe,
            copies=args.copies,
            labels=args.labels,
            seed=args.seed,
            workers=args.workers,
            name=args.name,
            replace=args.replace,
            callbacks=TerminalProgress("expanding", unit="train images"),
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: nothing finished was written; the same command resumes", file=sys.stderr)
        return 130
    for line in result.skipped:
        print(f"skipped: {line}", file=sys.stderr)
    if result.already:
        print(f"expansion {result.name!r} already written ({result.images:,} images); nothing to do", file=sys.stderr)
    else:
        rate = (result.images - result.resumed) / result.seconds if result.seconds else 0.0
        resumed = f", {result.resumed:,} kept from an interrupted run" if result.resumed else ""
        print(
            f"{result.images:,} images from {result.originals - len(result.skipped):,} of {result.originals:,} train "
            f"images in {result.seconds:.1f} s ({rate:,.0f} images/s{resumed}); "
            f"train on them with --set data.labels=augmented:{result.name}",
            file=sys.stderr,
        )
    print(result.folder)
    return 0
