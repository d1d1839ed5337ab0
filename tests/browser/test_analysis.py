"""The analysis pages in headless Chromium: a click on a confusion cell shows exactly its images;
the embedding map's hover shows a thumbnail and a box selection opens the gallery."""

from __future__ import annotations

import socket
import time

import numpy as np
import pandas as pd
import pytest

import core.embeddings.projection_job as projection
import tests.support.apphelpers as apphelpers
from core.analysis.predictions import labelled
from core.analysis.scores import confused_pairs, confusion_counts
from core.project.demo import build_demo
from core.project.layout import open_layout
from tests.app.test_analysis import table_of
from tests.support.apphelpers import OUTPUT, fixture_run, running_app

pytestmark = pytest.mark.browser
RUN = "20260102-000000-scan-bbbb"
PORTS = range(8640, 8661)  # the ports this suite's servers may use

# Page coordinates of a confusion cell's centre, from the chart's own axes.
CELL_JS = """([t, p]) => {
  const host = document.getElementsByClassName('st-key-wb-errors-matrix')[0];
  const gd = host && host.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullLayout || !gd._fullLayout.xaxis) return null;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return {x: box.left + xa._offset + xa.l2p(p), y: box.top + ya._offset + ya.l2p(t)};
}"""
MAP_JS = """() => {
  const host = document.getElementsByClassName('st-key-wb-embeddings-map')[0];
  const gd = host && host.querySelector('.js-plotly-plot');
  if (!gd || !gd._fullLayout || !gd._fullData || !gd._fullData.length) return null;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  // the right-most point: the fixture puts it well away from the others, so it alone is under the cursor
  let best = null;
  for (const trace of gd._fullData) {
    for (let i = 0; i < trace.x.length; i++) {
      if (!best || trace.x[i] > best.x) best = {x: trace.x[i], y: trace.y[i], row: trace.customdata[i]};
    }
  }
  return {x: box.left + xa._offset + xa.c2p(best.x), y: box.top + ya._offset + ya.c2p(best.y),
          row: best.row, left: box.left + xa._offset, top: box.top + ya._offset,
          width: xa._length, height: ya._length,
          // the data coordinates of the box the test drags: the left half of the plot, full height
          x_from: xa.p2c(2), x_to: xa.p2c(xa._length * 0.5), y_from: ya.p2c(ya._length - 2), y_to: ya.p2c(2)};
}"""
TOOLTIP_JS = """() => {
  for (const el of document.querySelectorAll('*')) {
    const tip = el.shadowRoot && el.shadowRoot.querySelector('.wb-tip');
    const img = tip && !tip.hidden && tip.querySelector('img');
    if (img && img.complete && img.naturalWidth > 0) return tip.innerText;
  }
  return null;
}"""


def _port_in_range() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@pytest.fixture(scope="module")
def analysis_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser_analysis")
    root = base / "project"
    build_demo(root, per_class=20)
    layout = open_layout(root)
    layout.ensure_work_dir()
    fixture_run(layout, accuracy=0.7, seed=5, run_id=RUN)
    run_dir = layout.runs_dir / RUN
    ids = pd.read_csv(run_dir / "embeddings_ids.csv", dtype=str)
    xy = np.random.default_rng(1).normal(size=(len(ids), 2))
    xy[np.argmax(xy[:, 0]), 0] += 1.5  # one point on its own, for the hover check
    out = projection.projection_file(layout.cache_dir, run_dir, projection.ProjectionParams())
    projection.write_projection(out, ids.ID, ids.split, xy)
    OUTPUT.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(apphelpers, "free_port", _port_in_range)
        with running_app(root, base / "home", OUTPUT / "browser-analysis-app.log") as url:
            yield url, layout


def test_clicking_a_confusion_cell_shows_exactly_its_images(browser, analysis_app):
    url, layout = analysis_app
    train = labelled(table_of(layout, RUN), "train")
    pairs = confused_pairs(
        confusion_counts(train["given"].to_numpy(int), train["predicted"].to_numpy(int), num_classes=10), top=1
    )
    true, pred = int(pairs["true"].iloc[0]), int(pairs["predicted"].iloc[0])
    expected = train.loc[(train["given"] == true) & (train["predicted"] == pred)]
    expected = expected.sort_values(["confidence", "ID"], ascending=[False, True])["ID"].tolist()
    assert len(expected) >= 2

    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(f"{url}/errors")
    page.locator(".st-key-wb-errors-matrix .js-plotly-plot").wait_for(timeout=60_000)
    page.wait_for_function(f"() => ({CELL_JS})([0, 0]) !== null", timeout=30_000)
    where = page.evaluate(CELL_JS, [true, pred])
    page.mouse.move(where["x"] - 4, where["y"] - 4)
    page.mouse.move(where["x"], where["y"])
    started = time.perf_counter()
    page.mouse.click(where["x"], where["y"])
    cards = page.locator(f".st-key-wb-gallery-errors_cell_{true}_{pred}-grid .wb-card img")
    cards.first.wait_for(timeout=30_000)
    page.wait_for_function(
        "n => [...document.querySelectorAll('*')].flatMap(e => e.shadowRoot ? [...e.shadowRoot.querySelectorAll("
        "'.wb-card img')] : []).filter(i => i.complete && i.naturalWidth > 0).length === n",
        arg=len(expected),
        timeout=30_000,
    )
    elapsed = time.perf_counter() - started
    shown = cards.evaluate_all("imgs => imgs.map(i => i.alt)")
    assert shown == expected
    captions = page.locator(f".st-key-wb-gallery-errors_cell_{true}_{pred}-grid .wb-cap").all_inner_texts()
    names = dict(pd.read_csv(layout.meta_csv).values)
    assert set(captions) == {f"{names[true]} → {names[pred]}"}
    page.get_by_text(f"{len(expected):,} image(s), most confident first").wait_for()
    page.screenshot(path=str(OUTPUT / "errors-cell-click.png"), full_page=True)
    print(f"confusion cell click to {len(expected)} decoded thumbnails: {elapsed:.2f} s")
    page.close()


def test_embedding_map_hover_and_box_selection(browser, analysis_app):
    url, layout = analysis_app
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{url}/embeddings")
    page.locator(".st-key-wb-embeddings-map .js-plotly-plot").wait_for(timeout=60_000)
    page.wait_for_function(f"() => ({MAP_JS})() !== null", timeout=30_000)
    point = page.evaluate(MAP_JS)
    ids = pd.read_csv(layout.runs_dir / RUN / "embeddings_ids.csv", dtype=str)
    page.mouse.move(point["x"] - 3, point["y"] - 3)
    page.mouse.move(point["x"], point["y"])
    tooltip = page.wait_for_function(TOOLTIP_JS, timeout=30_000).json_value()
    assert tooltip.splitlines()[0] == f"{ids.ID[point['row']]} ({ids.split[point['row']]})"
    page.screenshot(path=str(OUTPUT / "embeddings-hover.png"))

    # Drag a box over the left half of the map (the default drag mode is box selection).
    x0, y0 = point["left"] + 2, point["top"] + 2
    x1, y1 = point["left"] + point["width"] * 0.5, point["top"] + point["height"] - 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()
    page.get_by_text("Selection", exact=False).first.wait_for(timeout=30_000)
    page.locator(".st-key-wb-gallery-embeddings_selection-grid .wb-card").first.wait_for(timeout=30_000)
    xy = projection.read_projection(
        projection.projection_file(layout.cache_dir, layout.runs_dir / RUN, projection.ProjectionParams())
    )
    inside = xy["x"].between(point["x_from"], point["x_to"]) & xy["y"].between(point["y_from"], point["y_to"])
    header = page.get_by_text("Selection:").first.inner_text()
    count = int(header.split(":")[1].split("image")[0].replace(",", "").strip())
    assert abs(count - int(inside.sum())) <= 2  # the points in the box (a point on its edge may go either way)
    assert count > 10
    page.screenshot(path=str(OUTPUT / "embeddings-selection.png"), full_page=True)
    page.close()
