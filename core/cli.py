"""The `workbench` command: the same core as the app, for people on ssh.

    workbench demo --out DIR
    workbench check --project DIR
    workbench serve [--project DIR] [--port N]
    workbench import-folder SRC --out DIR
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _cmd_demo(args: argparse.Namespace) -> int:
    from core.demo import build_demo

    started = time.perf_counter()
    try:
        summary = build_demo(args.out, seed=args.seed)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"demo project: {summary.train_images} train images ({summary.flipped} labels flipped on purpose), "
          f"{summary.test_images} noisy test images, {len(summary.class_counts)} classes, "
          f"{time.perf_counter() - started:.1f} s")
    print(summary.root)
    return 0


def _progress_printer(label: str):
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - last[0] > 1.0:
            last[0] = now
            print(f"\r{label}: {done:,}/{total:,} images", end="\n" if done == total else "", file=sys.stderr,
                  flush=True)

    return report


def _cmd_check(args: argparse.Namespace) -> int:
    from core.dataset import format_report, load_dataset

    dataset = load_dataset(args.project, progress=_progress_printer("checking images"))
    print(format_report(dataset))
    return 0 if dataset.report.usable else 1


def _cmd_import(args: argparse.Namespace) -> int:
    from core.importer import import_folder

    try:
        summary = import_folder(args.src, args.out)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"imported {summary.train_images} train images in {len(summary.classes)} classes"
          + (f", {summary.test_images} test images" + (" (labelled)" if summary.test_labelled else "")
             if summary.test_images else ""))
    for item in summary.skipped:
        print(f"skipped (not a class folder of images): {item}", file=sys.stderr)
    print(summary.root)
    return 0


def streamlit_command(project: Path, *, port: int, host: str) -> list[str]:
    """The argv that starts the app; options repeat .streamlit/config.toml so they hold from any folder."""
    import workbench

    app = Path(workbench.__file__).resolve().parent / "app.py"
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        f"--server.port={port}",
        f"--server.address={host}",
        "--server.headless=true",
        "--server.enableXsrfProtection=true",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        "--", "--project", str(project),
    ]


def _cmd_serve(args: argparse.Namespace) -> int:
    from core.project import ProjectError, open_layout
    from core.settings import ensure_demo_project, remember_project

    if args.project:
        try:
            project = open_layout(args.project).root
        except ProjectError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        remember_project(project)
    else:
        print("opening the demo project (built on first use, about 10 s)", file=sys.stderr)
        project = ensure_demo_project()
    command = streamlit_command(project, port=args.port, host=args.host)
    print(f"workbench: http://{args.host}:{args.port}  project: {project}", file=sys.stderr)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("warning: listening beyond localhost; anyone who can reach this port can read your data",
              file=sys.stderr)
    os.environ["WORKBENCH_PROJECT"] = str(project)
    os.execv(sys.executable, command)  # replaces this process; no shell involved
    return 0  # pragma: no cover


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description="Error analysis and label cleaning for "
                                     "image-classification projects.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="build the demo project (scikit-learn digits, no download)")
    demo.add_argument("--out", required=True, help="folder to create (absent or empty)")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_cmd_demo)

    check = sub.add_parser("check", help="validate a project; exit 0 usable, 1 not usable")
    check.add_argument("--project", required=True)
    check.set_defaults(func=_cmd_check)

    serve = sub.add_parser("serve", help="start the app (default: the demo project)")
    serve.add_argument("--project", help="project folder (default: the demo, built on first use)")
    serve.add_argument("--port", type=int, default=8501)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost only)")
    serve.set_defaults(func=_cmd_serve)

    imp = sub.add_parser("import-folder", help="turn a class-per-subfolder dataset into a project")
    imp.add_argument("src")
    imp.add_argument("--out", required=True)
    imp.set_defaults(func=_cmd_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
