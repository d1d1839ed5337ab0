"""The Recipes page's preview: train images through the recipe being edited, beside real test images.

    recipe_preview(data, recipe)   N train images (a seeded sample, the same on every rerun), each as it is
                                   and as M seeded draws of the recipe, in a table of images; Reroll draws
                                   anew, the step toggles leave single steps out; then a random sample of
                                   test images at the same size (reroll too) and the time the preview took
    sample_images(data, split, n, seed=)   the images a preview shows: ID, path, caption
    batch_mixing_note()            Mixup / CutMix: what they do, their defaults, where they are set (Train)

The images go through workbench.cache.recipe_preview (cached per recipe text, images, seed and toggles),
so a rerun that changes none of those costs nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib

import pandas as pd
import streamlit as st

from core.config import AugConfig
from core.project.dataset import Dataset
from core.recipes.store import Recipe
from workbench import cache, state

SHOW_PX = 128  # thumbnails are at most this many pixels on their long side
ROW_PX = 80  # height of a row of the image tables (the images are scaled to fit)
HEADER_PX = 36  # height of a table's header row
WORK_PX = {256: "256 px (fast)", 512: "512 px", 0: "full size (slow for large images)"}
SAMPLE_SEED = 0  # the train images stay the same across reruns and recipes: only the noise changes
MIXING = ("mixup_alpha", "cutmix_alpha", "mix_prob")


def sample_images(data: Dataset, split: str, n: int, *, seed: int) -> pd.DataFrame:
    """`n` random readable images of `split` ("train" / "test"), the same for a seed: ID, path, caption."""
    frame = data.train if split == "train" else data.test
    index = data.images.loc[data.images["split"] == split]
    readable = set(index.loc[index["error"].fillna("") == "", "name"])
    frame = frame.loc[frame["ID"].isin(readable)]
    if len(frame) > n:
        frame = frame.sample(n=n, random_state=seed)
    if "target" in frame.columns:
        captions = [data.class_label(t) for t in frame["target"]]
    else:
        captions = list(frame["ID"])
    return pd.DataFrame({"ID": frame["ID"].to_numpy(), "path": frame["path"].to_numpy(), "caption": captions})


def recipe_preview(data: Dataset, recipe: Recipe | None) -> None:
    """The preview of `recipe` (None: nothing to show until the draft is valid) on the project's images."""
    st.markdown("#### Preview")
    if recipe is None:
        st.info("The preview shows the recipe once it is valid.")
        return
    if data.train.empty:
        st.info("No readable train images to preview the recipe on.")
        return
    n, draws, work_px = _settings()
    off = _step_toggles(recipe)
    train = sample_images(data, "train", n, seed=SAMPLE_SEED)
    grid, seconds = cache.recipe_preview(
        recipe.yaml_text,
        recipe.name,
        images=list(train["path"]),
        draws=draws,
        seed=state.preview_seed("draws"),
        off=off,
        work_px=work_px,
        show_px=SHOW_PX,
    )
    columns = ["original", *(f"draw {d + 1}" for d in range(draws))]
    frame = pd.DataFrame(grid, columns=columns).assign(train=list(train["caption"]))[["train", *columns]]
    _image_table(frame, key_columns=columns, first="train")
    where = "at full size" if not work_px else f"at most {work_px} px"
    st.caption(
        f"{len(train)} images × {draws} draws in {seconds:.2f} s (noise applied {where}, shown at {SHOW_PX} px)."
        + (f" Left out: steps {', '.join(str(i + 1) for i in off)}." if off else "")
    )
    _test_sample(data, per_row=draws + 1, rows=max(1, -(-len(train) // (draws + 1))))


def _settings() -> tuple[int, int, int]:
    """(train images, draws per image, work size) from the Reroll / settings row."""
    bar = st.container(horizontal=True, vertical_alignment="center")
    bar.button(
        "Reroll",
        icon=":material/casino:",
        key=state.recipe_button_key("reroll"),
        help="New random draws of the recipe on the same images.",
        on_click=state.reroll,
        args=("draws",),
    )
    with bar.popover("Preview settings", icon=":material/tune:"):
        n = st.number_input("Train images", 1, 24, 8, key=state.RECIPES_IMAGES)
        draws = st.number_input("Draws per image", 1, 8, 4, key=state.RECIPES_DRAWS)
        work_px = st.selectbox(
            "Apply the recipe at",
            list(WORK_PX),
            format_func=WORK_PX.get,
            key=state.RECIPES_WORK_PX,
            help="Images are shrunk to this long side before the recipe (a training run applies it at full size): "
            "per-pixel noise looks stronger on a shrunk image than on the full-size one.",
        )
    return int(n), int(draws), int(work_px)


def _step_toggles(recipe: Recipe) -> tuple[int, ...]:
    """Pills to switch single steps off in the preview; returns the indexes of the steps switched off."""
    labels = [f"{i + 1}. {type(t).__name__}" for i, t in enumerate(recipe.compose.transforms)]
    if not labels:
        return ()
    digest = hashlib.sha1("|".join(labels).encode()).hexdigest()[:12]
    on = st.pills(
        "Steps in the preview",
        labels,
        selection_mode="multi",
        default=labels,
        key=state.recipe_steps_on_key(recipe.name, digest),
        width="stretch",
        wrap=True,
        help="Switch a step off to see what it contributes (the recipe itself is unchanged).",
    )
    return tuple(i for i, label in enumerate(labels) if label not in (on or []))


def _image_table(frame: pd.DataFrame, *, key_columns: list[str], first: str) -> None:
    config = {column: st.column_config.ImageColumn(column, width=ROW_PX + 2) for column in key_columns}
    config[first] = st.column_config.TextColumn(first, width=72)
    height = HEADER_PX + ROW_PX * len(frame) + 2  # every row in view: no scrolling inside the table
    st.dataframe(frame, hide_index=True, row_height=ROW_PX, column_config=config, width="content", height=height)


def _test_sample(data: Dataset, *, per_row: int, rows: int) -> None:
    bar = st.container(horizontal=True, vertical_alignment="center")
    bar.markdown("**Test images** · real, at the same size", width="stretch")
    bar.button(
        "Other test images",
        icon=":material/casino:",
        key=state.recipe_button_key("reroll_test"),
        on_click=state.reroll,
        args=("test",),
    )
    test = sample_images(data, "test", per_row * rows, seed=state.preview_seed("test"))
    if test.empty:
        st.caption("No readable test images.")
        return
    uris = cache.preview_thumbnails(list(test["path"]), show_px=SHOW_PX)
    uris += [None] * (per_row * rows - len(uris))
    columns = [f"test {c + 1}" for c in range(per_row)]
    grid = pd.DataFrame([uris[r * per_row : (r + 1) * per_row] for r in range(rows)], columns=columns)
    grid.insert(0, "test", [""] * rows)
    _image_table(grid, key_columns=columns, first="test")


def batch_mixing_note() -> None:
    """Mixup / CutMix as the training options they are: what they do, their defaults, a link to the Train page."""
    fields = {f.name: f for f in dataclasses.fields(AugConfig)}
    defaults = AugConfig()
    with st.expander("Batch-level mixing: Mixup and CutMix (training options)", icon=":material/join:"):
        st.markdown(
            "A recipe changes each image on its own. A training run can also **mix the images of a batch** "
            "with timm's Mixup (two images blended, their labels blended alike) and CutMix (a patch of one "
            "image pasted onto another, labels in proportion to the areas). They are options of a run, not "
            "part of a recipe: set them on the Train page, tab Augmentation."
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "option": [f"aug.{name}" for name in MIXING],
                    "default": [getattr(defaults, name) for name in MIXING],
                    "what it does": [fields[name].metadata.get("help", "") for name in MIXING],
                }
            ),
            hide_index=True,
        )
        st.page_link("../pages/train.py", label="Train: set Mixup / CutMix for a run", icon=":material/model_training:")
