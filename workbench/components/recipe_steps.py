"""The step editor of a noise recipe: one expander per step with its probability and parameters, move, remove, add.

`recipe_steps(name, recipe, base_text)` draws the steps of `recipe` (core.recipes.catalogue.steps_of) and
returns nothing: every change goes through a widget callback that rebuilds the recipe from its steps
(compose_of, then its canonical YAML) and keeps it as the recipe's draft (workbench.state.set_recipe_draft).
Widgets are drawn from each parameter's ParamSpec: p and numbers as sliders within low..high, ranges as
two-ended sliders, bools as toggles, choices as select boxes. A change albumentations refuses is not
applied: the message names it and the widgets go back to the draft.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import streamlit as st

from core.recipes.catalogue import TRANSFORMS, ParamSpec, Step, compose_of, steps_of
from core.recipes.store import Recipe, RecipeError, recipe_to_yaml
from workbench import cache, state

STEPS_HEIGHT_PX = 560  # the step list scrolls inside this height, so the preview beside it stays in view


def recipe_steps(name: str, recipe: Recipe | None, base_text: str) -> None:
    """The steps of `recipe` (None: its YAML is invalid) with their widgets, then "Add step".

    base_text: the recipe's text when it has no draft yet (the saved YAML), which the first edit starts from.
    """
    if recipe is None:
        st.info("The steps show once the recipe is valid: fix it in the YAML tab.")
        return
    try:
        steps = steps_of(recipe.compose)
    except RecipeError as exc:
        st.info(f"This recipe cannot be edited step by step: {exc}.")
        return
    with st.container(height=STEPS_HEIGHT_PX if len(steps) > 7 else "content", border=False):
        if not steps:
            st.caption("No steps: the images go to the model as they are. Add one below.")
        for index, step in enumerate(steps):
            _step(name, index, step, count=len(steps), base_text=base_text)
    add = st.container(horizontal=True, vertical_alignment="bottom")
    add.selectbox(
        "Transform to add",
        list(TRANSFORMS),
        key=state.RECIPES_ADD,
        format_func=lambda n: f"{n}: {TRANSFORMS[n].summary}",
        width="stretch",
    )
    add.button(
        "Add",
        icon=":material/add:",
        key=state.recipe_button_key("add"),
        on_click=_on_add,
        args=(name, base_text),
    )


def _step(name: str, index: int, step: Step, *, count: int, base_text: str) -> None:
    spec = TRANSFORMS[step.name]
    label = f"{index + 1}. {step.name} · p {step.p:g}"
    with st.expander(label, key=state.recipe_step_key(name, index, step.name, "open")):
        st.caption(spec.summary)
        p_spec = ParamSpec("p", "float", spec.default_p, 0, 1, help="how often the step is applied (1 = always)")
        _param_widget(p_spec, step.p, name=name, index=index, transform=step.name, base_text=base_text)
        for param in spec.params:
            value = step.params.get(param.name)
            _param_widget(
                param,
                param.default if value is None else value,
                name=name,
                index=index,
                transform=step.name,
                base_text=base_text,
            )
        bar = st.container(horizontal=True, horizontal_alignment="right")
        for what, text, icon, disabled, args in (
            ("up", "Up", ":material/arrow_upward:", index == 0, (name, base_text, index, -1)),
            ("down", "Down", ":material/arrow_downward:", index == count - 1, (name, base_text, index, 1)),
            ("remove", "Remove", ":material/delete:", False, (name, base_text, index)),
        ):
            bar.button(
                text,
                icon=icon,
                key=state.recipe_step_key(name, index, step.name, what),
                disabled=disabled,
                on_click=_on_remove if what == "remove" else _on_move,
                args=args,
                type="tertiary",
            )


def slider_step(param: ParamSpec) -> tuple[float, int]:
    """(slider step, decimals shown) of a float parameter: about 1/200 of its range, a power of ten (p: 0.01)."""
    if param.name == "p":
        return 0.01, 2
    span = float(param.high) - float(param.low)
    exponent = math.floor(math.log10(span / 200)) if span > 0 else -2
    return 10.0**exponent, max(0, -exponent)


def _param_widget(param: ParamSpec, value: Any, *, name: str, index: int, transform: str, base_text: str) -> None:
    key = state.recipe_param_key(name, index, transform, param.name)
    common = {
        "key": key,
        "help": param.help or None,
        "on_change": _on_param,
        "args": (name, base_text, index, param, key),
    }
    label = "probability p" if param.name == "p" else param.name.replace("_", " ")
    if param.kind == "bool":
        st.toggle(label, value=bool(value), **common)
    elif param.kind == "choice":
        choices = list(param.choices)
        st.selectbox(label, choices, index=choices.index(value) if value in choices else 0, **common)
    elif param.low is None or param.high is None:
        st.number_input(label, value=value, **common)
    elif param.kind in ("int", "range_int"):
        current = tuple(int(v) for v in value) if param.kind == "range_int" else int(value)
        st.slider(label, int(param.low), int(param.high), current, step=1, **common)
    else:
        step, decimals = slider_step(param)
        current = tuple(float(v) for v in value) if param.kind == "range_float" else float(value)
        st.slider(label, float(param.low), float(param.high), current, step=step, format=f"%.{decimals}f", **common)


def _widget_value(param: ParamSpec, raw: Any) -> Any:
    """A widget's value as the catalogue takes it: pairs as tuples, floats rounded to the slider's precision."""
    if param.kind in ("float", "range_float") and param.low is not None and param.high is not None:
        decimals = slider_step(param)[1] + 1
        return (
            tuple(round(float(v), decimals) for v in raw)
            if param.kind == "range_float"
            else round(float(raw), decimals)
        )
    return tuple(raw) if isinstance(raw, list | tuple) else raw


def _change(name: str, base_text: str, edit: Callable[[list[Step]], list[Step]], *, refresh: bool) -> None:
    """Apply `edit` to the steps of the recipe's draft (else `base_text`) and keep the result as its draft.

    refresh: the step widgets start anew from the new draft (a move, a removal); not for a widget's own change.
    A change albumentations refuses is not kept: the message names it and the widgets go back to the draft.
    """
    text = state.recipe_draft(name)
    text = base_text if text is None else text
    recipe, error = cache.checked_recipe(text, name)
    try:
        if recipe is None:
            raise RecipeError(error)
        new_text = recipe_to_yaml(compose_of(edit(steps_of(recipe.compose))))
    except RecipeError as exc:
        state.set_recipe_notice("error", f"Not applied: {exc}")
        state.set_recipe_draft(name, state.recipe_draft(name))  # the widgets show the draft again
        return
    state.set_recipe_draft(name, new_text, refresh_widgets=refresh)


def _on_param(name: str, base_text: str, index: int, param: ParamSpec, key: str) -> None:
    value = _widget_value(param, st.session_state.get(key))

    def edit(steps: list[Step]) -> list[Step]:
        step = steps[index]
        if param.name == "p":
            steps[index] = Step(step.name, float(value), dict(step.params))
        else:
            steps[index] = Step(step.name, step.p, {**step.params, param.name: value})
        return steps

    _change(name, base_text, edit, refresh=False)


def _on_move(name: str, base_text: str, index: int, delta: int) -> None:
    def edit(steps: list[Step]) -> list[Step]:
        other = index + delta
        steps[index], steps[other] = steps[other], steps[index]
        return steps

    _change(name, base_text, edit, refresh=True)


def _on_remove(name: str, base_text: str, index: int) -> None:
    _change(name, base_text, lambda steps: steps[:index] + steps[index + 1 :], refresh=True)


def _on_add(name: str, base_text: str) -> None:
    spec = TRANSFORMS[st.session_state.get(state.RECIPES_ADD) or next(iter(TRANSFORMS))]
    added = Step(spec.name, spec.default_p, {param.name: param.default for param in spec.params})
    _change(name, base_text, lambda steps: [*steps, added], refresh=True)
