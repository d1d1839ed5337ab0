"""AppTest of the Recipes page: list, step editor, YAML editor, save, preview, and "Use in a run"."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.project.demo import build_demo
from core.project.layout import open_layout
from core.recipes.catalogue import steps_of
from core.recipes.store import built_in_recipe, load_recipe, recipes_dir, save_recipe
from tests.support.apphelpers import APP
from workbench import state


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("recipes") / "project"
    build_demo(root, per_class=6)
    layout = open_layout(root)
    layout.ensure_work_dir()
    return layout


@pytest.fixture
def layout(demo):
    """The demo with an empty recipes folder (each test starts from the presets only)."""
    folder = recipes_dir(demo)
    if folder.is_dir():
        for path in folder.iterdir():
            path.unlink()
    return demo


def _app(layout, monkeypatch, tmp_path, *, pick: str | None = None) -> AppTest:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[state.PROJECT] = str(layout.root)
    if pick:
        at.session_state[state.RECIPES_PICK] = pick
    at.run()
    at = at.switch_page("../pages/recipes.py").run()
    assert not at.exception
    return at


def _preview(at):
    """The preview table (train images x original + draws) as a frame of data: URIs."""
    return next(d.value for d in at.dataframe if "original" in d.value.columns)


def _param_slider(at, name: str, transform: str, param: str):
    return next(
        s
        for s in at.slider
        if s.key.startswith(f"wb.recipes.param.{name}.") and s.key.endswith(f".{transform}.{param}")
    )


def _button(at, what: str):
    return at.button(key=state.recipe_button_key(what))


def test_the_page_lists_the_recipes_and_previews_the_first_preset(layout, monkeypatch, tmp_path):
    at = _app(layout, monkeypatch, tmp_path)
    picker = at.radio(key=state.RECIPES_PICK)
    assert picker.options == ["none", "light", "document-scan", "heavy", "default"]
    assert picker.value == "document-scan"
    preview = _preview(at)
    assert list(preview.columns) == ["train", "original", "draw 1", "draw 2", "draw 3", "draw 4"]
    assert len(preview) == 8
    assert all(uri.startswith("data:image/jpeg;base64,") for uri in preview["draw 1"])
    assert any("8 images × 4 draws in" in c.value for c in at.caption)
    # The same images on every rerun; Reroll draws new noise on them.
    again = _preview(at.run())
    assert again.equals(preview)
    _button(at, "reroll").click().run()
    rerolled = _preview(at)
    assert list(rerolled["original"]) == list(preview["original"])
    assert list(rerolled["draw 1"]) != list(preview["draw 1"])
    # Mixup / CutMix are shown as the training options they are.
    assert any("aug.mixup_alpha" in list(d.value.get("option", [])) for d in at.dataframe)


def test_switching_every_step_off_shows_the_images_unchanged(layout, monkeypatch, tmp_path):
    at = _app(layout, monkeypatch, tmp_path, pick="light")
    pills = next(p for p in at.get("button_group") if p.label == "Steps in the preview")
    pills.set_value([]).run()
    preview = _preview(at)
    for draw in ("draw 1", "draw 2", "draw 3", "draw 4"):
        assert list(preview[draw]) == list(preview["original"])
    assert any("Left out: steps 1, 2, 3, 4, 5, 6" in c.value for c in at.caption)


def test_a_parameter_change_is_an_unsaved_edit_that_changes_the_preview(layout, monkeypatch, tmp_path):
    at = _app(layout, monkeypatch, tmp_path, pick="light")
    before = _preview(at)
    _param_slider(at, "light", "GaussNoise", "std_range").set_value((0.3, 0.5)).run()
    assert not at.exception
    assert "light" in at.session_state[state.RECIPES_DRAFTS]
    assert any("unsaved edits" in m.value for m in at.markdown)
    assert list(_preview(at)["draw 1"]) != list(before["draw 1"])
    assert not recipes_dir(layout).joinpath("light.yaml").exists()  # nothing written before Save


def test_add_a_step_and_save_writes_a_recipe_that_loads_with_it(layout, monkeypatch, tmp_path):
    save_recipe(layout, "mine", built_in_recipe("light").yaml_text)
    at = _app(layout, monkeypatch, tmp_path, pick="mine")
    assert _button(at, "save").disabled  # nothing to save yet
    at.selectbox(key=state.RECIPES_ADD).set_value("MotionBlur").run()
    _button(at, "add").click().run()
    assert not at.exception
    assert any("7. MotionBlur" in e.label for e in at.expander)
    _param_slider(at, "mine", "MotionBlur", "p").set_value(0.8).run()
    assert not _button(at, "save").disabled
    _button(at, "save").click().run()
    assert not at.exception
    assert any("Saved mine" in s.value for s in at.success)
    steps = steps_of(load_recipe("mine", recipes_dir=recipes_dir(layout)).compose)
    assert [s.name for s in steps][-1] == "MotionBlur"
    assert steps[-1].p == pytest.approx(0.8)
    assert any(":green-badge" in m.value for m in at.markdown)  # saved: no unsaved edits left


def test_invalid_yaml_names_the_line_and_leaves_the_file_unchanged(layout, monkeypatch, tmp_path):
    save_recipe(layout, "mine", built_in_recipe("light").yaml_text)
    path = recipes_dir(layout) / "mine.yaml"
    before = path.read_bytes()
    at = _app(layout, monkeypatch, tmp_path, pick="mine")
    at.text_area[0].set_value("transform:\n  __class_fullname__: Compose\n  transforms: [\n    - p: 1\n").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("not valid YAML at line" in e for e in errors), errors
    assert _button(at, "save").disabled
    at.run()
    assert path.read_bytes() == before
    # An unknown transform is named too, and is not saved either.
    text = built_in_recipe("light").yaml_text.replace("GaussNoise", "GaussNoize")
    at.text_area[0].set_value(text).run()
    assert any("unknown transform 'GaussNoize'" in e.value for e in at.error)
    assert _button(at, "save").disabled
    assert path.read_bytes() == before


def test_a_broken_recipe_file_is_listed_with_its_error_and_the_others_still_open(layout, monkeypatch, tmp_path):
    folder = recipes_dir(layout)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.yaml").write_text("transform: [unclosed\n", encoding="utf-8")
    save_recipe(layout, "fine", built_in_recipe("heavy").yaml_text)
    at = _app(layout, monkeypatch, tmp_path, pick="broken")
    picker = at.radio(key=state.RECIPES_PICK)
    assert "broken" in picker.options and "fine" in picker.options
    captions = dict(zip(picker.options, picker.proto.captions))
    assert "broken" in captions["broken"] and "YAML" in captions["broken"]
    assert any("broken.yaml" in e.value and "not valid YAML" in e.value for e in at.error)
    picker.set_value("fine").run()
    assert not at.exception
    assert not at.error
    assert len(_preview(at)) == 8


def test_the_shown_recipe_downloads_as_its_yaml(layout, monkeypatch, tmp_path):
    at = _app(layout, monkeypatch, tmp_path, pick="heavy")
    assert "Download heavy.yaml" in [d.proto.label for d in at.get("download_button")]  # built in: its text
    save_recipe(layout, "mine", built_in_recipe("light").yaml_text)
    at = _app(layout, monkeypatch, tmp_path, pick="mine")
    assert "Download mine.yaml" in [d.proto.label for d in at.get("download_button")]  # saved: the file


def test_use_in_a_run_opens_the_train_form_with_the_recipe(layout, monkeypatch, tmp_path):
    save_recipe(layout, "mine", built_in_recipe("heavy").yaml_text)
    at = _app(layout, monkeypatch, tmp_path, pick="mine")
    _button(at, "use").click().run()
    assert not at.exception
    recipe_box = at.selectbox(key=state.form_key("aug.recipe"))
    assert recipe_box.value == "mine"
    assert recipe_box.options == ["none", "light", "document-scan", "heavy", "mine", "default"]
    keys = {w.key for w in [*at.text_input, *at.text_area, *at.selectbox]}
    assert state.form_key("aug.recipe_yaml") not in keys  # filled in by the workbench, never a form field


def test_new_from_a_preset_then_delete(layout, monkeypatch, tmp_path):
    at = _app(layout, monkeypatch, tmp_path)
    at.text_input(key=state.RECIPES_NEW_NAME).set_value("scan-v2")
    at.selectbox(key=state.RECIPES_NEW_FROM).set_value("heavy")
    _button(at, "create").click().run()
    assert not at.exception
    path = recipes_dir(layout) / "scan-v2.yaml"
    assert load_recipe("scan-v2", recipes_dir=recipes_dir(layout)).version == built_in_recipe("heavy").version
    assert at.radio(key=state.RECIPES_PICK).value == "scan-v2"
    # A name in use is refused, and nothing is overwritten.
    at.text_input(key=state.RECIPES_NEW_NAME).set_value("light")
    _button(at, "create").click().run()
    assert any("exists already" in e.value for e in at.error)
    _button(at, "delete").click().run()
    assert not at.exception
    assert not path.exists()
    assert "scan-v2" not in at.radio(key=state.RECIPES_PICK).options


def test_steps_move_and_are_removed(layout, monkeypatch, tmp_path):
    at = _app(layout, monkeypatch, tmp_path, pick="light")
    at.button(key=state.recipe_step_key("light", 1, "HorizontalFlip", "up")).click().run()
    at.button(key=state.recipe_step_key("light", 5, "GaussianBlur", "remove")).click().run()
    assert not at.exception
    labels = [e.label for e in at.expander if e.label[:1].isdigit()]
    assert labels == [
        "1. HorizontalFlip · p 0.5",
        "2. RandomRotate90 · p 1",
        "3. VerticalFlip · p 0.5",
        "4. GaussNoise · p 0.3",
        "5. RandomBrightnessContrast · p 0.3",
    ]
    _button(at, "discard").click().run()
    assert [e.label for e in at.expander if e.label[:1].isdigit()][0] == "1. RandomRotate90 · p 1"
