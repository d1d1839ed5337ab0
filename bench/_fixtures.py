"""Shared pieces of the benchmarks: synthetic projects, a real Streamlit server, Chromium, reporting.

Nothing here asserts: the benchmarks print figures beside their targets (PASS / MISS) and, when
`BENCH_RESULTS` names a file, append one JSON line per figure to it (what `run_all.py` collects).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PYTHON = sys.executable
STREAMLIT = str(Path(sys.executable).with_name("streamlit"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PORTS = range(8610, 8631)  # the only ports the benchmarks may bind

# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    bench: str
    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        ok = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return "PASS" if ok else "MISS"

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'>=' if self.higher_is_better else '<='} {_fmt(self.target)} {self.unit}"


def _fmt(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.3f}"


def report(
    bench: str, name: str, value: float, unit: str, *, target: float | None = None, higher_is_better: bool = False
) -> Figure:
    """Print one figure (with its target and PASS/MISS) and record it for run_all.py."""
    fig = Figure(bench, name, float(value), unit, target, higher_is_better)
    line = f"  {name:<58} {_fmt(fig.value):>10} {unit:<9}"
    if fig.target is not None:
        line += f" target {fig.target_text:<16} {fig.verdict}"
    print(line, flush=True)
    results = os.environ.get("BENCH_RESULTS")
    if results:
        with open(results, "a", encoding="utf-8") as out:
            out.write(json.dumps({**fig.__dict__, "verdict": fig.verdict, "target_text": fig.target_text}) + "\n")
    return fig


def note(text: str) -> None:
    print(f"  - {text}", flush=True)


@contextlib.contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as t: ...` then t[0] is the elapsed seconds."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


# --------------------------------------------------------------------------------------------
# Synthetic images and projects
# --------------------------------------------------------------------------------------------


def make_image(size: int, seed: int):
    """A varied RGB picture: a smooth colour field, 3-8 random shapes, and pixel noise (PIL Image)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, size=(rng.integers(2, 7), rng.integers(2, 7), 3), dtype=np.uint8)
    image = Image.fromarray(grid, "RGB").resize((size, size), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, y0 = (int(v) for v in rng.integers(0, size, 2))
        w, h = (int(v) for v in rng.integers(size // 10, size // 2, 2))
        box = [x0, y0, min(size, x0 + w), min(size, y0 + h)]
        kind = int(rng.integers(0, 4))
        if kind == 0:
            draw.ellipse(box, fill=colour)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        elif kind == 2:
            draw.polygon([tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(3)], fill=colour)
        else:
            draw.line(box, fill=colour, width=max(1, size // 40))
    pixels = np.asarray(image, dtype=np.int16)
    pixels = pixels + rng.integers(-18, 19, size=pixels.shape, dtype=np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _write_images(args: tuple[str, list[tuple[str, int]], int, int]) -> int:
    folder, names_seeds, size, quality = args
    for name, seed in names_seeds:
        make_image(size, seed).save(Path(folder) / name, format="JPEG", quality=quality)
    return len(names_seeds)


def write_images(
    folder: Path, names: list[str], *, size: int, quality: int = 90, seed: int = 0, workers: int | None = None
) -> None:
    """Write `names` as size x size JPEGs into `folder`, in parallel over the machine's cores."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(name, seed * 1_000_003 + i) for i, name in enumerate(names)]
    workers = workers or os.cpu_count() or 1
    per = max(1, -(-len(jobs) // (workers * 4)))
    chunks = [(str(folder), jobs[i : i + per], size, quality) for i in range(0, len(jobs), per)]
    if workers <= 1 or len(jobs) < 32:
        for chunk in chunks:
            _write_images(chunk)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_write_images, chunks))


@dataclass(frozen=True)
class Project:
    root: Path
    train_ids: list[str]
    test_ids: list[str]
    num_classes: int


def build_project(
    root: Path,
    *,
    n_train: int,
    n_test: int = 0,
    size: int = 128,
    num_classes: int = 17,
    quality: int = 90,
    seed: int = 0,
) -> Project:
    """A competition-layout project: train/ + train.csv (+ test/, sample_submission.csv, meta.csv).

    Labels are spread over `num_classes` unevenly (like a real competition) and deterministic.
    """
    import pandas as pd

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    train_ids = [f"tr_{i:06d}.jpg" for i in range(n_train)]
    test_ids = [f"te_{i:06d}.jpg" for i in range(n_test)]
    weights = np.linspace(1.0, 0.4, num_classes)
    targets = rng.choice(num_classes, size=n_train, p=weights / weights.sum())
    write_images(root / "train", train_ids, size=size, quality=quality, seed=seed)
    pd.DataFrame({"ID": train_ids, "target": targets}).to_csv(root / "train.csv", index=False)
    pd.DataFrame({"target": range(num_classes), "class_name": [f"class_{k:02d}" for k in range(num_classes)]}).to_csv(
        root / "meta.csv", index=False
    )
    if n_test:
        write_images(root / "test", test_ids, size=size, quality=quality, seed=seed + 1)
        pd.DataFrame({"ID": test_ids, "target": 0}).to_csv(root / "sample_submission.csv", index=False)
    return Project(root=root, train_ids=train_ids, test_ids=test_ids, num_classes=num_classes)


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder removed afterwards, whatever happens."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def index_project(root: Path) -> tuple[float, object]:
    """load_dataset once (indexes every image); returns (seconds, Dataset)."""
    from core.project.dataset import load_dataset

    start = time.perf_counter()
    data = load_dataset(root)
    return time.perf_counter() - start, data


# --------------------------------------------------------------------------------------------
# A real Streamlit server
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    for port in PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@contextlib.contextmanager
def streamlit_server(
    script: str, *, env: dict[str, str], args: Sequence[str] = (), timeout: float = 60.0
) -> Iterator[str]:
    """Start `streamlit run script` from the repository root; yields its URL; terminates and waits after."""
    port = free_port()
    cmd = [
        STREAMLIT,
        "run",
        script,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    if args:
        cmd += ["--", *args]
    log = tempfile.TemporaryFile()
    # WORKBENCH_WARM_UMAP=0: no background UMAP compilation competing with what is being timed.
    proc = subprocess.Popen(
        cmd, cwd=REPO, env={**os.environ, "WORKBENCH_WARM_UMAP": "0", **env}, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not become healthy in time")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if os.environ.get("BENCH_SERVER_LOG"):
            log.seek(0)
            print(log.read().decode(errors="replace"))
        log.close()


# --------------------------------------------------------------------------------------------
# Chromium
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def chromium_page(width: int = 1600, height: int = 1000) -> Iterator[object]:
    """A fresh headless Chromium page (playwright, the system's chromium); closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(120_000)  # a busy 2-core machine can be slow; figures, not failures
            yield page
        finally:
            browser.close()


# Gallery cards may be drawn in the main document, inside a shadow root, or inside an iframe
# (depending on the custom-components version); this walks all three from the top document.
GALLERY_STATE_JS = """
() => {
  const roots = [];
  const walk = (root) => {
    roots.push(root);
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      if (el.tagName === 'IFRAME') { try { if (el.contentDocument) walk(el.contentDocument); } catch (e) {} }
    }
  };
  walk(document);
  const galleries = [];
  for (const root of roots) {
    for (const g of root.querySelectorAll('.wb-gallery')) {
      const imgs = [...g.querySelectorAll('button.wb-card img')];
      galleries.push({
        cards: imgs.length,
        loaded: imgs.filter((img) => img.complete && img.naturalWidth > 0).length,
        first: imgs.length ? imgs[0].getAttribute('alt') : null,
      });
    }
  }
  return {t: performance.now(), galleries};
}
"""


def gallery_state(page) -> dict:
    return page.evaluate(GALLERY_STATE_JS)


def wait_for_galleries(
    page, *, expect: list[int], first: list[str | None] | None = None, timeout: float = 60.0
) -> dict:
    """Poll (every animation frame) until galleries show `expect[i]` loaded images (and first alt text)."""
    condition = f"""
    () => {{
      const s = ({GALLERY_STATE_JS})();
      const expect = {json.dumps(expect)}, first = {json.dumps(first)};
      if (s.galleries.length < expect.length) return false;
      for (let i = 0; i < expect.length; i++) {{
        const g = s.galleries[i];
        if (g.cards !== expect[i] || g.loaded !== expect[i]) return false;
        if (first && first[i] !== null && g.first !== first[i]) return false;
      }}
      return s;
    }}
    """
    try:
        handle = page.wait_for_function(condition, polling="raf", timeout=timeout * 1000)
    except Exception:
        save_failure(page, "wait_for_galleries")
        raise
    return handle.json_value()


OUTPUT = REPO / "bench" / "output"  # git-ignored


def save_failure(page, label: str) -> None:
    """On a browser timeout: a screenshot and what the galleries held, under bench/output/."""
    try:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        shot = OUTPUT / f"{label}-{stamp}.png"
        page.screenshot(path=str(shot), full_page=True)
        text = page.evaluate("() => document.body.innerText.slice(0, 2000)")
        print(f"  ! {label} timed out; galleries: {gallery_state(page)['galleries']}; screenshot: {shot}", flush=True)
        print("  ! page text: " + text.replace("\n", " | ")[:1500], flush=True)
    except Exception as exc:  # noqa: BLE001 - diagnosis must not hide the original error
        print(f"  ! could not save the failure state: {exc}", flush=True)


class SocketLog:
    """Times (perf_counter) and sizes of the page's websocket frames: when the browser asked for a
    rerun and when the server's last message of it arrived."""

    def __init__(self, page) -> None:
        self.frames: list[tuple[float, str, int]] = []
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        ws.on("framesent", lambda payload: self.frames.append((time.perf_counter(), "sent", len(payload))))
        ws.on("framereceived", lambda payload: self.frames.append((time.perf_counter(), "recv", len(payload))))

    def clear(self) -> None:
        self.frames.clear()

    def summary(self, since: float) -> dict:
        """Seconds from `since` to the first frame sent and the last received, and bytes received."""
        sent = [t for t, kind, _ in self.frames if kind == "sent" and t >= since]
        recv = [(t, n) for t, kind, n in self.frames if kind == "recv" and t >= since]
        return {
            "first_sent": (sent[0] - since) if sent else float("nan"),
            "last_recv": (recv[-1][0] - since) if recv else float("nan"),
            "recv_bytes": sum(n for _, n in recv),
        }


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
