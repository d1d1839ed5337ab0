"""`workbench demo | check | import-folder | serve`: the project folder and the app."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import time
from pathlib import Path


def cmd_demo(args: argparse.Namespace) -> int:
    from core.project.demo import build_demo

    started = time.perf_counter()
    try:
        summary = build_demo(args.out, seed=args.seed)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"demo project: {summary.train_images} train images ({summary.flipped} labels flipped on purpose), "
        f"{summary.test_images} noisy test images, {len(summary.class_counts)} classes, "
        f"{time.perf_counter() - started:.1f} s"
    )
    print(summary.root)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from core.project.checks import check_database
    from core.project.dataset import format_report, load_dataset
    from core.runs.progress import TerminalProgress

    dataset = load_dataset(args.project, callbacks=TerminalProgress("checking images", unit="images"))
    check_database(dataset.report, dataset.layout)
    print(format_report(dataset))
    return 0 if dataset.report.usable else 1


def cmd_import(args: argparse.Namespace) -> int:
    from core.project.importer import FLAT_TEST, import_folder

    try:
        summary = import_folder(args.src, args.out)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"imported {summary.train_images} train images in {len(summary.classes)} classes"
        + (
            f", {summary.test_images} test images" + (" (labelled)" if summary.test_labelled else "")
            if summary.test_images
            else ""
        )
    )
    for item in summary.skipped:
        if item == FLAT_TEST:
            print(
                "skipped: test/ beside the class folders (move the classes under SRC/train/ to import it as the "
                "test set, or rename it to import it as a class)",
                file=sys.stderr,
            )
        else:
            print(f"skipped (not a class folder of images): {item}", file=sys.stderr)
    print(summary.root)
    return 0


def streamlit_command(project: Path, *, port: int, host: str) -> list[str]:
    """The argv that starts the app; options repeat .streamlit/config.toml so they hold from any folder."""
    import workbench
    from core.predictions.members import MAX_BYTES

    app = Path(workbench.__file__).resolve().parent / "app.py"
    return [
        sys.executable,
        "-m",
        "workbench.launch",  # `streamlit run` with the first page's imports warmed while the server starts
        "run",
        str(app),
        f"--server.port={port}",
        f"--server.address={host}",
        "--server.headless=true",
        "--server.enableXsrfProtection=true",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
        f"--server.maxUploadSize={MAX_BYTES // 2**20}",  # MB: uploads are prediction CSVs (core.predictions)
        "--",
        "--project",
        str(project),
    ]


def is_loopback(host: str | None) -> bool:
    """Whether a server bound to `host` (server.address) is reachable from this machine only; an empty
    address binds every interface."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    from core.home import ensure_demo_project, remember_project
    from core.project.layout import ProjectError, open_layout

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
    if not is_loopback(args.host):
        print("warning: listening beyond localhost; anyone who can reach this port can read your data", file=sys.stderr)
    os.environ["WORKBENCH_PROJECT"] = str(project)
    os.execv(sys.executable, command)  # replaces this process; no shell involved
    return 0  # pragma: no cover


def open_project(path: str):
    from core.project.layout import ProjectError, open_layout

    try:
        return open_layout(path)
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
