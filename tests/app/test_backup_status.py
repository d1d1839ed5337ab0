"""AppTest of the sidebar's backup block: last backed up, "Back up now", the warning, how to set a folder."""

from __future__ import annotations

import json
import time

import numpy as np
from streamlit.testing.v1 import AppTest

from core.labels.decisions import record_decision
from tests.support.builders import probs_run


def _script(project: str) -> None:
    from pathlib import Path

    from workbench.components.backup_status import backup_sidebar

    backup_sidebar(Path(project))


def _app(root) -> AppTest:
    at = AppTest.from_function(_script, args=(str(root),), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _texts(elements) -> list[str]:
    return [element.value for element in elements]


def test_without_a_backup_folder_the_sidebar_says_how_to_set_one(layout):
    at = _app(layout.root)
    assert any("Never backed up" in text for text in _texts(at.sidebar.caption))
    assert any("[backup]" in text and "workbench.toml" in text for text in _texts(at.sidebar.caption))
    assert not at.sidebar.button and not at.sidebar.warning  # no work yet: nothing to warn about


def test_back_up_now_backs_up_to_the_folder_of_workbench_toml(layout, tmp_path):
    probs_run(layout, "20260101-000000-scan-aaaa", [0, 1], np.array([[0.9, 0.1], [0.3, 0.7]]))
    (layout.root / "workbench.toml").write_text(f'[backup]\nto = "{tmp_path / "bk"}"\n', encoding="utf-8")
    at = _app(layout.root)
    assert any("Never backed up" in text for text in _texts(at.sidebar.warning))
    button = next(b for b in at.sidebar.button if b.label == "Back up now")
    button.click().run()
    assert not at.exception, at.exception
    assert (tmp_path / "bk" / "project" / "manifest.json").is_file()
    assert any(text.startswith("Backed up") for text in _texts(at.sidebar.success))
    assert any("Last backed up just now" in text for text in _texts(at.sidebar.caption))
    assert not at.sidebar.warning


def test_a_backup_older_than_a_day_with_work_since_is_a_warning(layout, tmp_path):
    record = {"folder": str(tmp_path / "bk" / "project"), "created_at": "", "time": time.time() - 2 * 86400}
    (layout.work_dir / "last_backup.json").write_text(json.dumps(record), encoding="utf-8")
    record_decision(layout.db_path, "cat_0.png", "keep", old_label=0)
    at = _app(layout.root)
    assert any("Last backed up 2 days ago" in text for text in _texts(at.sidebar.caption))
    assert any("2 days old and work has happened since" in text for text in _texts(at.sidebar.warning))
