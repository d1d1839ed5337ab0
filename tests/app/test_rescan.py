"""AppTest of the sidebar's "Rescan files": the page drawn in the same run reads the files afresh."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.support.apphelpers import APP
from tests.support.builders import build_project
from workbench import state


def _texts(at) -> str:
    return " ".join(str(element.value) for element in [*at.warning, *at.error, *at.info])


def test_rescan_shows_an_image_broken_on_disk_in_the_same_run(tmp_path, monkeypatch):
    root = build_project(tmp_path)
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state[state.PROJECT] = str(root)
    at.run()
    assert not at.exception
    before = _texts(at)
    broken = sorted((root / "train").iterdir())[0]
    broken.write_bytes(b"not an image")  # neither the CSV nor the folder changes: only a rescan notices
    at.run()
    assert _texts(at) == before
    [rescan] = [button for button in at.sidebar.button if button.label == "Rescan files"]
    rescan.click().run()
    assert not at.exception
    assert broken.name in _texts(at) and _texts(at) != before
