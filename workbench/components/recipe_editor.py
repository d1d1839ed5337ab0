"""The Recipes page's list and editor.

    recipe_list(layout, infos) -> RecipeInfo        the recipes (a broken file listed with its error); New,
                                                    Save as, Delete; returns the selected one
    recipe_editor(layout, info) -> Recipe | None    the selected recipe's draft as steps or YAML, with Save,
                                                    Discard and "Use in a run"; returns the checked draft
                                                    (what the preview shows), None while it is invalid

Edits are kept as the recipe's draft (its unsaved YAML, workbench.state.recipe_draft) until Save, which
writes through core.recipes.store.save_recipe (checked, atomic) before the page says "saved". A draft
that is not a valid recipe (bad YAML, unknown transform or parameter) shows its RecipeError and cannot
be saved.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from core.project.layout import ProjectLayout
from core.recipes.presets import BUILT_IN, PRESETS
from core.recipes.store import FIXED, Recipe, RecipeError, RecipeInfo, built_in_recipe, delete_recipe, save_recipe
from workbench import cache, state
from workbench.components.recipe_steps import recipe_steps

TRAIN_PAGE = Path(__file__).resolve().parents[2] / "pages" / "train.py"
FIRST_PICK = "document-scan"  # the preset shown first: the competition's test noise, imitated


def saved_text(info: RecipeInfo) -> str:
    """The recipe as saved: its file's text, else the built-in's YAML ("" for a file that cannot be read)."""
    if info.path is None:
        return built_in_recipe(info.name).yaml_text
    try:
        return info.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _caption(info: RecipeInfo) -> str:
    if info.error is not None:
        short = info.error.split(": ", 1)[-1]  # the recipe's name and file are the list's own
        return f":red[broken: {short[:48]}{'…' if len(short) > 48 else ''}]"
    if info.name in FIXED:
        kind = "built in, fixed"
    elif info.name in PRESETS:
        kind = "preset, saved copy" if info.path is not None else "preset"
    else:
        kind = "saved"
    return kind + (" · :orange[unsaved edits]" if state.recipe_draft(info.name) is not None else "")


def recipe_list(layout: ProjectLayout, infos: list[RecipeInfo]) -> RecipeInfo:
    """The recipes as a list to pick from, with New / Save as / Delete below; returns the one picked."""
    by_name = {info.name: info for info in infos}
    if state.picked_recipe() not in by_name:
        state.pick_recipe(FIRST_PICK if FIRST_PICK in by_name else infos[0].name)
    names = list(by_name)
    picked = st.radio(
        "Recipes",
        names,
        key=state.RECIPES_PICK,
        captions=[_caption(by_name[n]) for n in names],
    )
    info = by_name[picked]
    actions = st.container(horizontal=True)
    with actions.popover("New", icon=":material/add:"):
        usable = [n for n in names if by_name[n].error is None]
        st.text_input("Name", key=state.RECIPES_NEW_NAME, placeholder="my-recipe", help="letters, digits, - and _")
        st.selectbox(
            "Start from",
            usable,
            index=usable.index(info.name) if info.name in usable else 0,
            key=state.RECIPES_NEW_FROM,
        )
        st.button("Create", key=state.recipe_button_key("create"), on_click=_on_create, args=(layout, infos))
    with actions.popover("Save as", icon=":material/content_copy:"):
        st.text_input("Name of the copy", key=state.RECIPES_COPY_NAME, placeholder=f"{info.name}-copy")
        st.caption("Saves what the editor shows (unsaved edits included) under the new name.")
        st.button("Save copy", key=state.recipe_button_key("copy"), on_click=_on_copy, args=(layout, infos, info))
    if info.path is not None and info.name not in FIXED:
        revert = info.name in PRESETS
        with actions.popover("Revert" if revert else "Delete", icon=":material/delete:"):
            st.caption(
                f"Back to the shipped {info.name}: {info.path} is removed."
                if revert
                else f"Removes {info.path}. Runs that used it keep their own copy of the recipe."
            )
            st.button(
                f"{'Revert' if revert else 'Delete'} {info.name}",
                key=state.recipe_button_key("delete"),
                on_click=_on_delete,
                args=(layout, info.name),
                type="primary",
            )
    return info


def _new_name(typed: str | None, infos: list[RecipeInfo]) -> str | None:
    """The typed name when it is free, else None after leaving a notice that says why."""
    name = (typed or "").strip()
    if not name:
        state.set_recipe_notice("error", "Give the new recipe a name.")
        return None
    if name in {info.name for info in infos} or name in BUILT_IN:
        state.set_recipe_notice("error", f"A recipe named {name!r} exists already: choose another name.")
        return None
    return name


def _save_new(layout: ProjectLayout, name: str, text: str, what: str) -> bool:
    try:
        save_recipe(layout, name, text)
    except RecipeError as exc:
        state.set_recipe_notice("error", f"Not saved: {exc}")
        return False
    state.pick_recipe(name)
    state.set_recipe_notice("success", f"{what} {name}: saved to .workbench/recipes/{name}.yaml.")
    return True


def _on_create(layout: ProjectLayout, infos: list[RecipeInfo]) -> None:
    name = _new_name(st.session_state.get(state.RECIPES_NEW_NAME), infos)
    base = next((i for i in infos if i.name == st.session_state.get(state.RECIPES_NEW_FROM)), None)
    if name and base is not None:
        _save_new(layout, name, saved_text(base), f"Created from {base.name}:")


def _on_copy(layout: ProjectLayout, infos: list[RecipeInfo], info: RecipeInfo) -> None:
    name = _new_name(st.session_state.get(state.RECIPES_COPY_NAME), infos)
    draft = state.recipe_draft(info.name)
    if name and _save_new(layout, name, saved_text(info) if draft is None else draft, f"Copy of {info.name}:"):
        state.set_recipe_draft(info.name, None)  # the edits went to the copy


def _on_delete(layout: ProjectLayout, name: str) -> None:
    try:
        delete_recipe(layout, name)
    except RecipeError as exc:
        state.set_recipe_notice("error", str(exc))
        return
    state.set_recipe_draft(name, None)
    back = "reverted to the shipped preset" if name in PRESETS else "deleted"
    state.set_recipe_notice("success", f"{name}: {back}.")


def recipe_editor(layout: ProjectLayout, info: RecipeInfo) -> Recipe | None:
    """The draft of `info` (else its saved text) as steps or YAML, its problems, Save / Discard / Use in a run."""
    saved = saved_text(info)
    text = _current_text(info.name, saved)
    recipe, error = cache.checked_recipe(text, info.name)
    unsaved = state.recipe_draft(info.name) is not None
    if unsaved:
        badge = ":orange-badge[:material/edit: unsaved edits]"
    elif info.error is not None:
        badge = ":red-badge[:material/error: broken]"
    else:
        badge = ":green-badge[:material/check: saved]"
    st.markdown(f"#### {info.name} {badge}")
    notice = state.pop_recipe_notice()
    if notice:
        (st.success if notice[0] == "success" else st.error)(notice[1])
    if error:
        # A broken file's own error names the file; a draft's names what the edit broke.
        st.error(info.error if info.error and not unsaved else error, icon=":material/error:")
    steps_tab, yaml_tab = st.tabs(["Steps", "YAML"], key=state.RECIPES_TAB)
    with steps_tab:
        recipe_steps(info.name, recipe, saved)
    with yaml_tab:
        _yaml_box(info.name, text)
    _save_bar(layout, info, text, recipe=recipe, unsaved=unsaved)
    return recipe


def _current_text(name: str, saved: str) -> str:
    """The draft of `name`, else the saved text; a draft that says the same as the saved recipe is dropped."""
    draft = state.recipe_draft(name)
    if draft is None:
        return saved
    mine, _ = cache.checked_recipe(draft, name)
    theirs, _ = cache.checked_recipe(saved, name)
    if draft.strip() == saved.strip() or (mine and theirs and mine.version == theirs.version):
        state.set_recipe_draft(name, None, refresh_widgets=False)
        return saved
    return draft


def _yaml_box(name: str, text: str) -> None:
    key = state.recipe_yaml_key(name, hashlib.sha1(text.encode()).hexdigest()[:12])
    st.text_area(
        "albumentations YAML",
        value=text,
        height=480,
        key=key,
        on_change=_on_yaml,
        args=(name, key),
        help="What albumentations.save writes. Edits apply when the box loses focus or on Ctrl+Enter.",
    )
    st.caption("Comments are not kept: Save writes the recipe as albumentations writes it.")


def _on_yaml(name: str, key: str) -> None:
    state.set_recipe_draft(name, st.session_state.get(key) or "")


def _save_bar(layout: ProjectLayout, info: RecipeInfo, text: str, *, recipe: Recipe | None, unsaved: bool) -> None:
    fixed = info.name in FIXED
    if fixed:
        st.caption(f"{info.name} is built in and fixed (older runs name it): keep edits with Save as.")
    bar = st.container(horizontal=True)
    bar.button(
        "Save",
        type="primary",
        icon=":material/save:",
        key=state.recipe_button_key("save"),
        disabled=fixed or not unsaved or recipe is None,
        help="Write the recipe to .workbench/recipes/ (only a valid recipe is saved).",
        on_click=_on_save,
        args=(layout, info.name, text),
    )
    bar.button(
        "Discard edits",
        icon=":material/undo:",
        key=state.recipe_button_key("discard"),
        disabled=not unsaved,
        on_click=state.set_recipe_draft,
        args=(info.name, None),
    )
    use = bar.button(
        "Use in a run",
        icon=":material/model_training:",
        key=state.recipe_button_key("use"),
        disabled=unsaved or info.error is not None,
        help="Open the Train page with this recipe chosen (save your edits first).",
    )
    if use:
        state.use_recipe_in_run(info.name)
        st.switch_page(TRAIN_PAGE)


def _on_save(layout: ProjectLayout, name: str, text: str) -> None:
    try:
        recipe = save_recipe(layout, name, text)
    except RecipeError as exc:
        state.set_recipe_notice("error", f"Not saved: {exc}")
        return
    state.set_recipe_draft(name, None)
    state.set_recipe_notice("success", f"Saved {name} (version {recipe.version}) to .workbench/recipes/{name}.yaml.")
