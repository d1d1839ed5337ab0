"""Helpers for AppTest and browser tests: find the gallery's payload, start the real app."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
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
    from core.cli.project import streamlit_command

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
    with supervised(process, url, log):
        yield url, process


@contextmanager
def supervised(process: subprocess.Popen, url: str, log: Path):
    """Until the app `process` started answers `url`/_stcore/health (60 s at most; its log in the error
    otherwise), then the block; the process is stopped afterwards (SIGTERM, SIGKILL after 15 s)."""
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
        yield
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


FIXTURE_K = 10  # the demo project's classes


def in_fresh_python(code: str) -> str:
    """Run `code` in a new interpreter from the repository root (what a test of imports needs: nothing of
    this process's sys.modules); fails with its stderr unless it exits 0; returns its stdout."""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def wait_idle(page, *, quiet_ms: int = 700, timeout_ms: int = 60_000) -> None:
    """Until the script has been idle for `quiet_ms` (stApp's script state, no skeleton placeholders), in a
    browser test: what a user sees as the page having finished, before typing into it."""
    script = """([quiet]) => {
        const app = document.querySelector('[data-testid="stApp"]');
        const state = app ? app.getAttribute('data-test-script-state') : 'initial';
        const busy = state !== 'notRunning' || document.querySelector('[data-testid="stSkeleton"]') !== null;
        const now = performance.now();
        if (busy || window.__wbIdleSince === undefined) { window.__wbIdleSince = busy ? undefined : now; return false; }
        return now - window.__wbIdleSince > quiet;
    }"""
    page.evaluate("() => { window.__wbIdleSince = undefined; }")
    page.wait_for_function(script, arg=[quiet_ms], timeout=timeout_ms, polling=100)


def fixture_run(layout, *, accuracy: float, seed: int, run_id: str) -> str:
    """A succeeded scan run: predictions right with probability `accuracy`, confidences spread, embeddings by class."""
    from core.analysis.predictions import prediction_table
    from core.analysis.scores import headline_metrics
    from core.config import resolve_config
    from core.runs.folder import (
        RunWriter,
        create_run,
        read_oof,
        read_test_probs,
        write_embeddings,
        write_oof,
        write_test_outputs,
    )

    rng = np.random.default_rng(seed)
    train = pd.read_csv(layout.train_csv)
    truth = pd.read_csv(layout.test_labels_csv)

    def probs_for(labels):
        predicted = np.where(rng.random(len(labels)) < accuracy, labels, rng.integers(0, FIXTURE_K, len(labels)))
        confidence = rng.uniform(0.3, 0.95, len(labels))
        probs = np.tile(((1 - confidence) / (FIXTURE_K - 1))[:, None], (1, FIXTURE_K))
        probs[np.arange(len(labels)), predicted] = confidence
        return probs

    run_dir = create_run(layout, resolve_config(kind="scan"), run_id=run_id)
    write_oof(run_dir, train.ID, np.arange(len(train)) % 3, train.target.to_numpy(), probs_for(train.target.to_numpy()))
    write_test_outputs(run_dir, truth.ID, probs_for(truth.target.to_numpy()))
    labels = np.concatenate([train.target.to_numpy(), truth.target.to_numpy()])
    centres = rng.normal(size=(FIXTURE_K, 32)) * 4
    write_embeddings(
        run_dir,
        list(train.ID) + list(truth.ID),
        ["train"] * len(train) + ["test"] * len(truth),
        centres[labels] + rng.normal(size=(len(labels), 32)),
    )
    table = prediction_table(read_oof(run_dir), read_test_probs(run_dir), truth, num_classes=FIXTURE_K)
    metrics = headline_metrics(table, num_classes=FIXTURE_K)
    RunWriter(run_dir).status(state="succeeded", progress=1.0, metrics=metrics, duration_s=3.0, labels="original")
    return run_id
