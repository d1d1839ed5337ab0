"""AppTest: the Overview of a hostile project (a FIFO named like an image, megabyte CSV cells, escape
codes in IDs) renders, and every warning it shows is short and escaped."""

from __future__ import annotations

import os

from streamlit.testing.v1 import AppTest

from tests.support.apphelpers import APP
from tests.support.builders import build_project
from workbench import state


def test_overview_of_a_project_with_a_fifo_and_huge_cells_renders_short_warnings(tmp_path, monkeypatch):
    root = build_project(tmp_path)
    fifo = root / "train" / "a.png"
    os.mkfifo(fifo)
    huge_ids = [f"{n}{'x' * 300_000}.png" for n in range(6)]  # six: the finding also lists its items in a table
    rows = ["a.png,0", "\x1b[31mred.png,1", "cat_0b.png," + "9" * 2_000_000, *(f"{i},0" for i in huge_ids)]
    with open(root / "train.csv", "a", encoding="utf-8") as handle:
        handle.write("".join(f"{row}\n" for row in rows))
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state[state.PROJECT] = str(root)
    try:
        at.run()
    finally:
        try:  # a page stuck opening the FIFO is released, so a failure does not hang the suite
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Train images"] == "9"
    warnings = [w.value for w in at.warning]
    texts = " ".join(warnings)
    assert "train/a.png: not a regular file (a FIFO); not read" in texts
    assert "\\x1b[31mred.png" in texts and "\x1b" not in texts
    assert max(len(w) for w in warnings) < 1_000, [len(w) for w in warnings]
    cells = [str(v) for frame in at.dataframe for v in frame.value.to_numpy().ravel()]
    assert cells and max(len(c) for c in cells) < 300


def test_thumbnails_deleted_while_the_app_runs_leave_empty_cards_not_an_error(tmp_path, monkeypatch):
    import shutil

    from tests.support.apphelpers import galleries
    from workbench import cache

    root = build_project(tmp_path)
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state[state.PROJECT] = str(root)
    at.run()
    assert all(item["src"].startswith("data:image/jpeg") for item in galleries(at)["overview_train"])
    shutil.rmtree(root / ".workbench" / "cache" / "thumbs")  # "safe to delete", says DESIGN.md
    cache._thumbnail_data_uri.clear()  # as a new server process would find it
    at.run()
    assert not at.exception
    assert {item["src"] for item in galleries(at)["overview_train"]} == {""}
