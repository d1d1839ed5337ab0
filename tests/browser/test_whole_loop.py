"""The whole loop a user walks, in headless Chromium, on a tiny demo project with real scans:

overview -> a scan started on the Train page -> Errors (a confusion cell's images) -> Issues (three
relabels, export v1) -> retrain on the newest labels from the Runs page -> both runs on the Runs page ->
a recipe preview -> two prediction CSVs uploaded on Compare, an ensemble saved and downloaded -> the
sidebar's "Back up now" -> `workbench restore` into a new folder, opened in the app by its address.

A screenshot of every step is kept under test-output/whole-loop/NN-step.png.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest

from core.analysis.predictions import labelled
from core.analysis.scores import confused_pairs, confusion_counts
from core.labels.decisions import current_decisions
from core.project.backup_status import last_backup
from core.project.demo import build_demo
from core.project.layout import open_layout
from core.runs.catalog import list_runs
from core.runs.folder import read_status
from tests.app.test_analysis import table_of
from tests.browser.test_analysis import CELL_JS
from tests.support.apphelpers import OUTPUT, running_app, wait_idle

pytestmark = pytest.mark.browser

SHOTS = OUTPUT / "whole-loop"
K = 10  # the demo's classes
SCAN_PX = 64
RUN_TIMEOUT_S = 300  # one tiny scan on 2 shared CPU cores
TABLE_CELLS = "[data-testid='stDataFrame'] td"  # the grid's accessible table: the rows on screen
LOADED_IMAGES = "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length"


class Loop:
    """The browser page, the project and a numbered screenshot per step."""

    def __init__(self, browser, url: str, project: Path, base: Path):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
        self.url, self.project, self.base = url, project, base
        self.layout = open_layout(project)
        self.step = 0
        self.started = time.monotonic()
        self.timeline: list[str] = []  # printed at the end (run_cli's capsys swallows what is printed before it)

    def shot(self, name: str, show=None) -> None:
        """Screenshot of the window (Streamlit scrolls inside it), after scrolling `show` (a locator) into view."""
        self.step += 1
        if show is not None:
            show.scroll_into_view_if_needed()
            self.page.wait_for_timeout(300)
        self.page.screenshot(path=str(SHOTS / f"{self.step:02d}-{name}.png"), full_page=True)
        self.timeline.append(f"{time.monotonic() - self.started:6.1f} s  {self.step:02d}-{name}")

    def goto(self, path: str, heading: str) -> None:
        self.page.goto(f"{self.url}/{path}")
        self.page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=120_000)

    def run_ids(self) -> list[str]:
        return [r.run_id for r in list_runs(self.layout)]

    def wait_for_run(self, run_id: str) -> None:
        """Until the run's job has ended (read on disk); it must have succeeded."""
        run_dir = self.layout.runs_dir / run_id
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while (state := read_status(run_dir).get("state")) in ("queued", "running", None):
            assert time.monotonic() < deadline, f"{run_id} still {state} after {RUN_TIMEOUT_S} s"
            time.sleep(1)
        log = (run_dir / "log.txt").read_text(errors="replace")[-3000:] if (run_dir / "log.txt").is_file() else ""
        assert state == "succeeded", f"{run_id} ended {state}:\n{log}"

    def table_shows(self, texts: list[str]) -> None:
        """Until the rows on screen of a dataframe hold every text of `texts`."""
        self.page.wait_for_function(
            f"texts => {{ const cells = [...document.querySelectorAll({TABLE_CELLS!r})].map(c => c.textContent);"
            " return texts.every(t => cells.includes(t)); }",
            arg=texts,
            timeout=60_000,
        )


def overview(loop: Loop) -> None:
    loop.goto("", "Overview")
    train = pd.read_csv(loop.project / "train.csv")
    loop.page.get_by_text(f"{len(train):,}", exact=True).first.wait_for(timeout=30_000)
    loop.page.locator(".wb-card img").first.wait_for(timeout=60_000)
    deadline = time.monotonic() + 30
    while loop.page.locator(".wb-card img").evaluate_all(LOADED_IMAGES) < 8:
        assert time.monotonic() < deadline, "the overview's thumbnails did not load"
        loop.page.wait_for_timeout(100)
    loop.shot("overview")


def start_scan(loop: Loop) -> str:
    """The Train page's scan form: 2 folds, 64 px, the offline default backbone; returns the run id.

    (At 32 px cleanlab flags only 3-4 of the demo's labels; at 64 px 9, as fast on a CPU.)"""
    page = loop.page
    loop.goto("train", "Train")
    folds = page.get_by_role("spinbutton", name="folds")
    folds.wait_for(timeout=120_000)  # the form waits for the noise recipes to be checked
    folds.fill("2")
    folds.press("Tab")
    page.get_by_role("tab", name="Scan (frozen backbone)").click()
    size = page.get_by_role("spinbutton", name="image size")
    size.fill(str(SCAN_PX))
    size.press("Tab")
    loop.shot("train-form")
    page.get_by_role("button", name="Start scan run").click()
    page.get_by_text("Started scan run").wait_for(timeout=30_000)
    run_id = loop.run_ids()[0]
    loop.wait_for_run(run_id)
    page.get_by_text("OOF macro-F1").first.wait_for(timeout=60_000)  # the jobs panel noticed the end
    loop.shot("scan-finished")
    config = (loop.layout.runs_dir / run_id / "config.yaml").read_text()
    assert f"image_size: {SCAN_PX}" in config and "folds: 2" in config
    return run_id


def errors_cell(loop: Loop, run_id: str) -> None:
    """The most confused pair's cell, clicked: exactly its images."""
    page = loop.page
    train = labelled(table_of(loop.layout, run_id), "train")
    counts = confusion_counts(train["given"].to_numpy(int), train["predicted"].to_numpy(int), num_classes=K)
    pairs = confused_pairs(counts, top=1)
    true, pred = int(pairs["true"].iloc[0]), int(pairs["predicted"].iloc[0])
    expected = train.loc[(train["given"] == true) & (train["predicted"] == pred)]
    expected = expected.sort_values(["confidence", "ID"], ascending=[False, True])["ID"].tolist()
    assert expected, "the scan confused no pair of classes"

    loop.goto("errors", "Errors")
    page.locator(".st-key-wb-errors-matrix .js-plotly-plot").wait_for(timeout=60_000)
    page.wait_for_function(f"() => ({CELL_JS})([0, 0]) !== null", timeout=30_000)
    where = page.evaluate(CELL_JS, [true, pred])
    page.mouse.move(where["x"] - 4, where["y"] - 4)
    page.mouse.move(where["x"], where["y"])
    page.mouse.click(where["x"], where["y"])
    cards = page.locator(f".st-key-wb-gallery-errors_cell_{true}_{pred}-grid .wb-card img")
    cards.first.wait_for(timeout=30_000)
    page.get_by_text(f"{len(expected):,} image(s), most confident first").wait_for(timeout=30_000)
    deadline = time.monotonic() + 30
    while cards.evaluate_all(LOADED_IMAGES) < len(expected):
        assert time.monotonic() < deadline, "the cell's thumbnails did not load"
        page.wait_for_timeout(100)
    assert cards.evaluate_all("imgs => imgs.map(i => i.alt)") == expected
    loop.shot("errors-cell", show=cards.first)


def relabel_three(loop: Loop) -> list[str]:
    """Accept the suggestion of the first three flagged images with the card's Accept button."""
    page = loop.page
    loop.goto("issues", "Label issues")
    card_id = page.locator(".wb-review .wb-id")
    card_id.wait_for(timeout=120_000)
    flagged = page.get_by_text(re.compile(r"Reviewed 0 / [\d,]+ flagged")).inner_text()
    assert int(flagged.split("/")[1].split()[0].replace(",", "")) > 3, flagged
    loop.shot("issues-queue")
    accept = page.get_by_role("button", name=re.compile(r"Accept .*\(A\)"))
    relabelled = []
    for _ in range(3):
        image_id = card_id.inner_text()
        accept.click()
        page.locator(".wb-review .wb-notice").filter(has_text=f"Saved: {image_id} relabel").wait_for(timeout=30_000)
        relabelled.append(image_id)
    loop.shot("issues-relabelled")
    decided = current_decisions(loop.layout.db_path).set_index("ID")
    assert sorted(decided.index) == sorted(relabelled) and set(decided["action"]) == {"relabel"}
    return relabelled


def export_version(loop: Loop, relabelled: list[str]) -> None:
    page = loop.page
    page.get_by_text("Export & versions", exact=True).click()
    page.get_by_role("button", name="Export the next version").click()
    page.get_by_text("Exported v1").wait_for(timeout=30_000)
    page.get_by_role("button", name="Retrain on v1").wait_for(timeout=30_000)
    loop.shot("issues-export")
    changes = pd.read_csv(loop.layout.labels_dir / "changes_v1.csv")
    assert sorted(changes["ID"]) == sorted(relabelled) and set(changes["action"]) == {"relabel"}


def retrain(loop: Loop, first: str) -> str:
    """The Runs page's "Retrain on the newest labels"; both runs shown once the new one has finished."""
    page = loop.page
    loop.goto("runs", "Runs")
    page.get_by_role("button", name="Retrain on the newest labels").click()
    page.get_by_text(f"the config of {first} on labels v1").wait_for(timeout=30_000)
    (second,) = set(loop.run_ids()) - {first}
    loop.shot("retrain-started")
    loop.wait_for_run(second)
    page.get_by_text("Compare two runs").wait_for(timeout=60_000)  # the page reran when it ended
    loop.table_shows([first, second, "v1", "original"])
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    loop.shot("runs-both", show=page.get_by_text("Compare two runs"))
    assert read_status(loop.layout.runs_dir / second)["labels"] == "v1"
    return second


def recipe_preview(loop: Loop) -> None:
    page = loop.page
    loop.goto("recipes", "Noise recipes")
    page.get_by_text("light", exact=True).click()
    page.get_by_text("1. RandomRotate90 · p 1").wait_for(timeout=30_000)
    page.get_by_text("draws in").first.wait_for(timeout=60_000)
    page.locator('[data-testid="stDataFrame"]').filter(has_text="draw 1").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # the preview's images are drawn on a canvas
    loop.shot("recipe-preview")


def prediction_csv(run_dir: Path, path: Path) -> None:
    """A teammate's CSV from a run's test probabilities: ID, target, prob_0..prob_9."""
    probs = pd.read_csv(run_dir / "test_probs.csv", dtype={"ID": str})
    columns = [f"prob_{k}" for k in range(K)]
    probs.insert(1, "target", np.argmax(probs[columns].to_numpy(), axis=1))
    probs[["ID", "target", *columns]].to_csv(path, index=False)


def compare_and_ensemble(loop: Loop, runs: list[str]) -> None:
    page = loop.page
    alice, bob = loop.base / "alice.csv", loop.base / "bob.csv"
    prediction_csv(loop.layout.runs_dir / runs[0], alice)
    prediction_csv(loop.layout.runs_dir / runs[1], bob)
    loop.page.goto(f"{loop.url}/compare")
    page.get_by_role("heading", name="Compare predictions", exact=True).wait_for(timeout=120_000)
    page.get_by_text("Add teammates' prediction CSVs").wait_for(timeout=60_000)  # open while no file was added
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([alice, bob])
    page.get_by_text("alice.csv").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_text("Added alice.csv as alice.csv").wait_for(timeout=30_000)
    page.get_by_text("Added bob.csv as bob.csv").wait_for(timeout=30_000)
    _members(page, ["alice", "bob"])
    page.get_by_role("heading", name="Agreement", exact=True).wait_for(timeout=30_000)
    loop.shot("compare-members")

    wait_idle(page)  # as a user would: the page has finished drawing before the name is typed
    name = page.get_by_role("textbox", name="Save the ensemble as")
    name.fill("team blend")
    name.press("Enter")
    wait_idle(page)
    assert name.input_value() == "team blend"
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(re.compile(r"Saved team_blend\.csv: .* vote of alice \(1\), bob \(1\)")).wait_for(timeout=30_000)
    with page.expect_download(timeout=30_000) as caught:
        page.get_by_role("button", name="Download team_blend.csv").click()
    saved = loop.base / "downloaded.csv"
    caught.value.save_as(saved)
    loop.shot("ensemble-saved", show=page.get_by_role("button", name="Download team_blend.csv"))
    frame = pd.read_csv(saved, dtype={"ID": str})
    test_ids = pd.read_csv(loop.project / "sample_submission.csv", dtype={"ID": str})["ID"]
    assert list(frame.columns[:2]) == ["ID", "target"] and len(frame) == len(test_ids)
    assert set(frame["ID"]) == set(test_ids) and frame["target"].between(0, K - 1).all()


def _members(page, names: list[str]) -> None:
    """The Members box holds exactly the files `names` (the two runs it starts on are cleared)."""
    widget = page.get_by_test_id("stMultiSelect").filter(has=page.get_by_text("Members", exact=True))
    chips = widget.locator("[data-tag]")
    chips.first.wait_for(timeout=30_000)
    widget.get_by_role("button", name="Clear all").click()
    page.get_by_role("heading", name="Agreement", exact=True).wait_for(state="detached", timeout=30_000)  # no members
    box = widget.get_by_role("combobox", name="Members")
    for name in names:
        box.click()
        page.get_by_role("option", name=re.compile(rf"^{name}\s+\(file\)$")).click()
        page.keyboard.press("Escape")
        chips.filter(has_text=name).wait_for(timeout=30_000)
    assert [" ".join(t.split()) for t in chips.all_inner_texts()] == [f"{n} (file)" for n in names]


def back_up(loop: Loop) -> Path:
    """The sidebar's "Back up now" (workbench.toml names the folder); returns the backup folder."""
    page = loop.page
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name="Back up now").click()
    sidebar.get_by_text(re.compile(r"Backed up [\d,]+ files")).wait_for(timeout=60_000)
    sidebar.get_by_text("Last backed up").wait_for(timeout=30_000)
    page.mouse.move(800, 40)  # the button's tooltip off the notice
    page.wait_for_timeout(500)
    loop.shot("backed-up")
    record = last_backup(loop.layout)
    assert record is not None
    return Path(record["folder"])


def restore_and_open(loop: Loop, backup: Path, run_cli, runs: list[str]) -> None:
    """`workbench restore` into a new folder holding the images, opened in the app by its address."""
    restored = loop.base / "restored"
    restored.mkdir()
    for folder in ("train", "test"):  # a backup without --with-images: the images are copied in
        shutil.copytree(loop.project / folder, restored / folder)
    code, out, err = run_cli(["restore", "--project", str(restored), "--from", str(backup)])
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(restored)
    assert sorted(r.run_id for r in list_runs(open_layout(restored))) == sorted(runs)
    loop.page.goto(f"{loop.url}/runs?project={quote(str(restored))}")
    loop.page.get_by_role("heading", name="Runs", exact=True).wait_for(timeout=120_000)
    loop.page.get_by_test_id("stSidebar").get_by_text(str(restored), exact=True).wait_for(timeout=60_000)
    loop.table_shows(runs)
    loop.page.get_by_text("Compare two runs").wait_for(timeout=60_000)
    loop.shot("restored-runs")


def test_the_whole_loop(browser, tmp_path, run_cli):
    project = tmp_path / "project"
    # 155 train images (23 labels flipped), 90 test images, 32 px
    build_demo(project, per_class=20, flip_rate=0.15, test_fraction=0.05, image_size=32)
    (project / "workbench.toml").write_text(f'[backup]\nto = "{tmp_path / "backups"}"\n')
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    with running_app(project, tmp_path / "home", OUTPUT / "browser-whole-loop-app.log") as url:
        loop = Loop(browser, url, project, tmp_path)
        try:
            overview(loop)
            first = start_scan(loop)
            errors_cell(loop, first)
            export_version(loop, relabel_three(loop))
            second = retrain(loop, first)
            recipe_preview(loop)
            compare_and_ensemble(loop, [first, second])
            backup = back_up(loop)
            restore_and_open(loop, backup, run_cli, [first, second])
        except Exception:
            loop.page.screenshot(path=str(SHOTS / "failed.png"), full_page=True)
            raise
        finally:
            loop.page.close()
    print("\n".join([*loop.timeline, f"whole loop: {time.monotonic() - loop.started:.0f} s"]))
