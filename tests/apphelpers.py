"""Helpers for AppTest and browser tests: find the gallery's payload, start the real app."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "workbench" / "app.py"
CHROMIUM = os.environ.get("WORKBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OUTPUT = REPO / "test-output"


def _walk(node, out: list) -> None:
    if type(node).__name__ == "UnknownElement":
        out.append(node)
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            _walk(child, out)


def galleries(at) -> dict[str, list[dict]]:
    """{gallery name: [item dicts]} for every gallery component the AppTest run rendered."""
    found: list = []
    _walk(at.main, found)
    result = {}
    for element in found:
        proto = element.proto
        if getattr(proto, "component_name", "") != "wb_gallery":
            continue
        name = proto.id.split("wb.gallery.", 1)[1].rsplit(".grid", 1)[0]
        result[name] = json.loads(proto.json)["items"]
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(project: Path, home: Path, log: Path):
    """The app (`workbench serve`'s command line) on a free localhost port; yields (url, process) so a
    test can also kill it; stopped afterwards."""
    from core.cli import streamlit_command

    port = free_port()
    env = dict(os.environ, WORKBENCH_HOME=str(home), PYTHONUNBUFFERED="1")
    with open(log, "w") as handle:
        process = subprocess.Popen(
            streamlit_command(project, port=port, host="127.0.0.1"),
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"app did not start; log:\n{log.read_text()}")
            time.sleep(0.3)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_app(project: Path, home: Path, log: Path):
    """`served`, yielding only the URL."""
    with served(project, home, log) as (url, _process):
        yield url
