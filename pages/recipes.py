"""Recipes: the noise recipes a training run applies to its images; edit one and see it on the project's images."""

from __future__ import annotations

import streamlit as st

from core.recipes.store import built_in_recipe
from workbench import cache, state
from workbench.components.downloads import download_files, download_text
from workbench.components.expand_panel import expand_panel
from workbench.components.recipe_editor import recipe_editor, recipe_list
from workbench.components.recipe_fit import recipe_fit
from workbench.components.recipe_preview import batch_mixing_note, recipe_preview

data = cache.dataset(state.current_project())
st.title("Noise recipes")
st.caption(
    "The albumentations transforms a training run (and a scan's augmented copies) applies to each train image, "
    "to make it look like the test images. Saved as albumentations YAML under .workbench/recipes/."
)
if not data.report.usable:
    st.error("This project cannot be used yet: see the Overview page for what is wrong.")
    st.stop()

infos = cache.recipe_infos(data.layout)
left, middle, right = st.columns([0.8, 2.1, 3.1], gap="medium")
with left:
    info = recipe_list(data.layout, infos)
with middle:
    recipe = recipe_editor(data.layout, info)
    batch_mixing_note()
    if info.path is not None:
        download_files([info.path], label="Download {name}")
    elif info.error is None:
        download_text(built_in_recipe(info.name).yaml_text, file_name=f"{info.name}.yaml")
with right:
    recipe_preview(data, recipe)

recipe_fit(data, infos)
if info.error is None:
    expand_panel(data.layout, info.name)
