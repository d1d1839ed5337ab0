"""The run form: every field of core.config, one widget per field, keyed by its dotted config key.

`run_form(defaults, ...) -> RunConfig | None` draws the form and returns the validated config when
the user presses Start (None otherwise). Values pass from widget to config unchanged: the widget of
`train.epochs` sets `train.epochs`, nothing in between renames or rescales it. Tooltips, select-box
choices and suggestions come from the fields' metadata (core.config), nothing is listed here. Fields the
workbench fills in when a run is created (metadata `filled_by_workbench`, e.g. aug.recipe_yaml) get no
widget: they keep the defaults' value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import streamlit as st

from core.config import SECTIONS, ConfigError, RunConfig, from_dict
from workbench import state

SECTIONS_FOR_KIND = {"scan": ("data", "scan"), "train": ("data", "model", "aug", "train")}
TITLES = {
    "data": "Data",
    "scan": "Scan (frozen backbone)",
    "model": "Model",
    "aug": "Augmentation",
    "train": "Training",
}
# Fields that only matter for the other kind of run.
SKIP = {"scan": {"data.image_size", "data.num_workers"}, "train": set()}


def _widget(key: str, default: Any, *, options: dict[str, list[str]], metadata: Mapping[str, Any]) -> Any:
    """One field's widget: a select box where the page or the field's metadata has choices or suggestions."""
    label = key.split(".", 1)[1].replace("_", " ")
    widget_key = state.form_key(key)
    help_text = metadata["help"]
    offered = options.get(key) or metadata.get("choices") or metadata.get("suggestions")
    if offered:
        choices = list(offered)
        if default not in choices:
            choices.insert(0, default)
        return st.selectbox(
            label,
            choices,
            index=choices.index(default),
            key=widget_key,
            help=help_text,
            accept_new_options=key in ("model.name", "scan.backbone", "data.labels"),
        )
    if isinstance(default, bool):
        return st.checkbox(label, value=default, key=widget_key, help=help_text)
    if isinstance(default, int):
        return st.number_input(label, value=default, step=1, key=widget_key, help=help_text)
    if isinstance(default, float):
        return st.number_input(label, value=default, format="%g", key=widget_key, help=help_text)
    return st.text_input(label, value=default, key=widget_key, help=help_text)


def _pretrained_widget(key: str, default: str, *, metadata: Mapping[str, Any]) -> str:
    """offline / hub / none (the field's choices), or a local checkpoint path typed by the user."""
    named = tuple(metadata["choices"])
    choices = [*named, "local file"]
    current = default if default in named else "local file"
    picked = st.selectbox(
        key.split(".", 1)[1], choices, index=choices.index(current), key=state.form_key(key), help=metadata["help"]
    )
    if picked != "local file":
        return picked
    return st.text_input(
        "checkpoint file (.safetensors / .pth)",
        value="" if default in named else default,
        key=state.form_key(key + ".path"),
    )


def run_form(defaults: RunConfig, *, kind: str, options: dict[str, list[str]]) -> RunConfig | None:
    """Draw the form for `kind` ("scan" or "train"); returns the config when Start is pressed and valid.

    options: choices for free-text fields, e.g. {"model.name": [...timm names...], "aug.recipe": [...],
    "data.labels": ["original", "latest", "v1", ...]}.
    """
    values: dict[str, dict[str, Any]] = {}
    with st.form(state.form_key(kind), border=True):
        name = st.text_input("Run name (optional)", value=defaults.name, key=state.form_key(f"{kind}.name"))
        sections = SECTIONS_FOR_KIND[kind]
        tabs = st.tabs([TITLES[s] for s in sections])
        for section, tab in zip(sections, tabs):
            cls = SECTIONS[section]
            current = getattr(defaults, section)
            values[section] = {}
            with tab:
                columns = st.columns(3)
                shown = [
                    f
                    for f in dataclasses.fields(cls)
                    if f"{section}.{f.name}" not in SKIP[kind] and not f.metadata.get("filled_by_workbench")
                ]
                for i, field in enumerate(shown):
                    key = f"{section}.{field.name}"
                    with columns[i % 3]:
                        default = getattr(current, field.name)
                        if field.metadata.get("or_file"):
                            values[section][field.name] = _pretrained_widget(key, default, metadata=field.metadata)
                        else:
                            values[section][field.name] = _widget(
                                key, default, options=options, metadata=field.metadata
                            )
        submitted = st.form_submit_button(f"Start {kind} run", type="primary", icon=":material/play_arrow:")
    if not submitted:
        return None
    data = dataclasses.asdict(defaults)
    data["kind"] = kind
    data["name"] = name
    for section, fields in values.items():
        data[section].update(fields)
    try:
        return from_dict(data)
    except ConfigError as exc:
        st.error(f"Not started: {exc}")
        return None
