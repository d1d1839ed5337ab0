"""A new user's first impression: fresh demo -> app started -> Chromium opens Overview -> first image.

    .venv/bin/python bench/first_impression.py [--rounds 3] [--variants before,indexed,serve]
        [--against REV] [--no-umap-warm] [--floor] [--breakdown]

Each round uses a brand-new WORKBENCH_HOME (a temporary folder), so nothing is cached from before:
  1. the demo is built the way `workbench serve` builds it (core.home.ensure_demo_project, in its own
     process): its seconds are reported (paid once, before the app starts);
  2. the app is started on it; seconds until the server answers its health check;
  3. Chromium opens the page; the figure is the time from navigation until the first gallery
     image is visible (an <img> in a `.wb-card`, decoded: `complete && naturalWidth > 0`), target
     <= 2 s; also until every gallery image is decoded, when the sidebar, title, metrics and charts
     appeared, and the first image in a second tab (a new session in the now warm server process, opened
     once the first tab has finished drawing).
Variants, interleaved round by round so they share the machine's load:
  before   the demo's image index removed after the build, `streamlit run workbench/app.py` (no
           --project: the app opens the demo itself): what a new user got before issue 14
  indexed  the demo as built now (index + thumbnails written by the build), `streamlit run`
  serve    the demo as built now, started with `workbench serve`'s command line
           (core.cli.project.streamlit_command: workbench.launch warms the first page's imports)
`--against REV` (e.g. HEAD~1) adds `serve@REV`: the same as `serve`, but the app of git revision REV (exported
to a temporary folder), alternated round by round with this tree's (old, new, new, old, ...). The machine's
speed drifts within an hour, so a change is judged by such an A/B, never by two runs at different times.
The UMAP warm-up (workbench.cache.warm_umap_once) runs as it does for a user, in the background on
the first page view, unless --no-umap-warm. `--floor`: a blank Streamlit app in a second tab (what
Streamlit itself takes). `--breakdown`: where a fresh process's first view spends its time (imports,
load_dataset with the index the build wrote).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import (  # noqa: E402
    PYTHON,
    REPO,
    chromium_page,
    free_port,
    median,
    note,
    report,
    streamlit_server,
    temp_dir,
)

from tests.support.apphelpers import wait_idle  # noqa: E402 - the browser tests' "page has finished drawing"

BENCH = "first_impression"
TARGET_FIRST_IMAGE_S = 2.0

# Seconds (performance.now() / 1000) at which the first gallery image, and all of them, were decoded.
FIRST_IMAGE_JS = r"""
(want) => {
  const imgs = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('.wb-card img')) imgs.push(el);
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  const done = imgs.filter((i) => i.complete && i.naturalWidth > 0).length;
  return (want === 0 ? done > 0 : done >= want) ? {t: performance.now() / 1000, done, cards: imgs.length} : false;
}
"""


def build_demo_in(home: Path) -> float:
    """core.home.ensure_demo_project in a fresh process with WORKBENCH_HOME=home; returns its seconds."""
    code = "from core.home import ensure_demo_project; ensure_demo_project()"
    start = time.perf_counter()
    subprocess.run(
        [PYTHON, "-c", code], cwd=REPO, env={**os.environ, "WORKBENCH_HOME": str(home)}, check=True, timeout=900
    )
    return time.perf_counter() - start


def wait_images(page, want: int, timeout_s: float) -> dict:
    handle = page.wait_for_function(FIRST_IMAGE_JS, arg=want, polling="raf", timeout=timeout_s * 1000)
    return handle.json_value()


# When the app shell, the title and the first metric appear (performance.now() / 1000), for the breakdown.
MILESTONES_JS = r"""
(() => {
  const marks = {};
  window.__firstMarks = marks;
  const check = () => {
    const now = performance.now() / 1000;
    const set = (key, ok) => { if (ok && !(key in marks)) marks[key] = now; };
    set('app shell', document.querySelector('[data-testid=stApp]'));
    set('sidebar', document.querySelector('[data-testid=stSidebar]'));
    set('title', document.querySelector('h1'));
    set('metrics', document.querySelector('[data-testid=stMetric]'));
    set('charts', document.querySelector('.js-plotly-plot .main-svg'));
    if (Object.keys(marks).length < 5 && now < 120) requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();
"""


@contextlib.contextmanager
def served(home: Path, *, env: dict[str, str], plain: bool, tree: Path = REPO) -> Iterator[str]:
    """The app as `workbench serve` starts it on the demo (core.cli.project.streamlit_command), or with
    `plain`, as `streamlit run workbench/app.py` with no --project (the app then opens the demo itself)."""
    if plain:
        with streamlit_server("workbench/app.py", env=env, timeout=120) as url:
            yield url
        return
    from core.cli.project import streamlit_command

    port = free_port()
    command = streamlit_command(home / "demo", port=port, host="127.0.0.1")
    # `-m workbench.launch run APP ...`: the app of `tree` (another revision's, with --against)
    command[command.index("run") + 1] = str(tree / "workbench" / "app.py")
    env = {**os.environ, **env, "PYTHONPATH": str(tree)}  # that tree's packages, ahead of the installed ones
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"the app did not start:\n{log.read().decode(errors='replace')}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def floor(home: Path) -> float:
    """A blank Streamlit app (one line of text) in a fresh tab: the part Streamlit itself takes."""
    blank = home / "blank_app.py"
    blank.write_text('import streamlit as st\nst.title("Blank")\nst.write("ready")\n', encoding="utf-8")
    with streamlit_server(str(blank), env={"WORKBENCH_HOME": str(home)}) as url, chromium_page() as page:
        page.goto(url, wait_until="commit")
        page.wait_for_selector("text=ready")
        second = page.context.browser.new_page()
        start = time.perf_counter()
        second.goto(url, wait_until="commit")
        second.wait_for_selector("text=ready")
        return time.perf_counter() - start


VARIANTS = {
    # name: (start the app as `workbench serve` does, keep the index the demo build wrote)
    "before": (False, False),  # as before issue 14: `streamlit run`, the first view indexes the images
    "indexed": (False, True),  # the demo build indexes; `streamlit run workbench/app.py`
    "serve": (True, True),  # the demo build indexes; `workbench serve`'s launcher warms the imports
}


def one_round(home: Path, *, variant: str, warm_umap: bool, tree: Path = REPO) -> dict[str, float]:
    launcher, keep_index = VARIANTS[variant.split("@")[0]]
    figures = {"demo build": build_demo_in(home)}
    if not keep_index:
        shutil.rmtree(home / "demo" / ".workbench")
    env = {"WORKBENCH_HOME": str(home), "WORKBENCH_WARM_UMAP": "1" if warm_umap else "0"}
    os.environ.pop("WORKBENCH_PROJECT", None)
    start = time.perf_counter()
    with served(home, env=env, plain=not launcher, tree=tree) as url:
        figures["server start"] = time.perf_counter() - start
        with chromium_page() as page:
            page.add_init_script(MILESTONES_JS)
            page.goto(url, wait_until="commit")
            first = wait_images(page, 0, 180)
            figures["first image"] = first["t"]
            figures.update({f"  {k}": v for k, v in page.evaluate("window.__firstMarks").items()})
            every = wait_images(page, first["cards"], 60)
            figures["all gallery images"] = every["t"]
            figures["gallery images"] = every["done"]
            # The second tab measures a warm server, not one still drawing the first tab's charts.
            wait_idle(page)
            second = page.context.browser.new_page()
            second.goto(url, wait_until="commit")
            figures["second tab: first image"] = wait_images(second, 0, 60)["t"]
    _stop_warm_ups(home)
    return figures


def _stop_warm_ups(home: Path) -> None:
    """Stop the UMAP warm-up this round's server started (detached, it outlives the server): a user has
    one, and those of earlier rounds would load the machine under the later ones."""
    marker = f"WORKBENCH_HOME={home}".encode()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc.name), signal.SIGTERM)
        except OSError:
            continue  # gone meanwhile, or not ours to read


def breakdown(home: Path) -> None:
    """Where a fresh process's first overview spends its time, step by step, on a fresh demo."""
    script = r"""
import sys, time
t0 = time.perf_counter()
import streamlit  # noqa
t1 = time.perf_counter()
import pandas, plotly.express  # noqa
import workbench.cache, workbench.components.data_overview, workbench.components.shift_card  # noqa
import core.analysis.overview, core.runs.catalog  # noqa
t2 = time.perf_counter()
from core.home import demo_project_dir
from core.project.dataset import load_dataset
root = demo_project_dir()
had_index = (root / ".workbench" / "cache" / "image_index.parquet").is_file()
t3 = time.perf_counter(); load_dataset(root); t4 = time.perf_counter(); load_dataset(root); t5 = time.perf_counter()
print(t1 - t0, t2 - t1, t4 - t3, t5 - t4, int(had_index))
"""
    build_demo_in(home)
    out = subprocess.run(
        [PYTHON, "-c", script],
        cwd=REPO,
        env={**os.environ, "WORKBENCH_HOME": str(home)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    streamlit_s, page_imports_s, first_load_s, second_load_s, had_index = (float(v) for v in out)
    print("  breakdown (a fresh process on a fresh demo):", flush=True)
    note(f"image index present after the demo build: {'yes' if had_index else 'no'}")
    report(BENCH, "  import streamlit", streamlit_s, "s")
    report(BENCH, "  import the overview's modules (pandas, plotly, core, cache)", page_imports_s, "s")
    report(BENCH, "  first load_dataset (index + thumbnails unless built)", first_load_s, "s")
    report(BENCH, "  second load_dataset (index on disk)", second_load_s, "s")


def export_revision(rev: str, into: Path) -> Path:
    """The files of git revision `rev` of this repository, written under `into` (git archive, no shell)."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def report_variant(variant: str, rounds: list[dict[str, float]]) -> None:
    def mid(key: str) -> float:
        return median([r[key] for r in rounds])

    print(f"  [{variant}] {len(rounds)} round(s), medians:", flush=True)
    target = TARGET_FIRST_IMAGE_S if variant == "serve" else None  # the target is for this tree's app
    report(BENCH, f"[{variant}] demo build (before the app starts)", mid("demo build"), "s")
    report(BENCH, f"[{variant}] server start -> healthy", mid("server start"), "s")
    report(BENCH, f"[{variant}] page opened -> first gallery image visible", mid("first image"), "s", target=target)
    report(BENCH, f"[{variant}] page opened -> all gallery images", mid("all gallery images"), "s")
    report(BENCH, f"[{variant}] second tab (warm process) -> first image", mid("second tab: first image"), "s")
    for key in ("  app shell", "  sidebar", "  title", "  metrics", "  charts"):
        if all(key in r for r in rounds):
            report(BENCH, f"  [{variant}] {key.strip()} visible (s after navigation)", mid(key), "s")


def run_rounds(variants: list[str], trees: dict[str, Path], *, rounds: int, warm_umap: bool) -> dict[str, list]:
    """`rounds` fresh rounds of each variant, interleaved, the order flipped every round (a, b, b, a, ...)."""
    results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    for n in range(rounds):
        for variant in variants if n % 2 == 0 else variants[::-1]:
            with temp_dir("wb-first-") as home:
                figures = one_round(home, variant=variant, warm_umap=warm_umap, tree=trees[variant])
            results[variant].append(figures)
            note(f"round {n + 1} [{variant}]: " + ", ".join(f"{k.strip()} {v:.2f}" for k, v in figures.items()))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="fresh homes per variant (medians reported)")
    parser.add_argument(
        "--variants", default="serve", help=f"comma-separated, interleaved round by round: {', '.join(VARIANTS)}"
    )
    parser.add_argument(
        "--against", metavar="REV", help="also `serve@REV`: git revision REV's app, alternated with this one"
    )
    parser.add_argument("--no-umap-warm", action="store_true", help="no background UMAP compilation")
    parser.add_argument("--breakdown", action="store_true", help="also time the server's first view step by step")
    parser.add_argument("--floor", action="store_true", help="also time a blank Streamlit app in a second tab")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    with contextlib.ExitStack() as stack:
        trees = {variant: REPO for variant in variants}
        if args.against:
            trees[f"serve@{args.against}"] = export_revision(args.against, stack.enter_context(temp_dir("wb-rev-")))
            variants = list(trees)
        note(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        results = run_rounds(variants, trees, rounds=args.rounds, warm_umap=not args.no_umap_warm)
    for variant in variants:
        report_variant(variant, results[variant])
    note(f"load average now {os.getloadavg()[0]:.2f}")
    if args.floor:
        with temp_dir("wb-first-floor-") as home:
            report(BENCH, "floor: a blank Streamlit app in a second tab -> text visible", floor(home), "s")
    if args.breakdown:
        with temp_dir("wb-first-bd-") as home:
            breakdown(home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
