"""Noise recipes: albumentations pipelines saved as YAML under .workbench/recipes/ (DESIGN.md, Noise recipes).

presets     the shipped recipes (none, light, document-scan, heavy) and the legacy "default"
catalogue   the transforms a recipe editor offers, their parameters, steps <-> Compose
store       Recipe, RecipeError; parse, list, load, save, delete recipe files; the recipe a run uses
apply       apply_recipe / augmented_copies: an image through a recipe, the same for a seed
serialization  albumentations imported on first use (no update check), its registry and errors
augmented   .workbench/augmented/<name>/: an offline expansion's folder contract, names, listing, reading
expansion   expand_train_set: K augmented copies of every train image on disk (worker processes,
            deterministic per seed, resumable, never half-written)
expansion_job  run_expansion (`workbench expand`), start_expansion / expansion_status (the background job)
fit         fit_reference / fit_score: how much a recipe's augmented train looks like test (-MMD^2 of embeddings)
fit_cache   FitParams, FitResult: the fit scores, maps and train vs test report on disk, their keys and readers
fit_job     start_fit / fit_status / run_fit_job: every recipe's fit score as a background job
"""

from __future__ import annotations

from core.recipes.apply import apply_recipe, augmented_copies
from core.recipes.augmented import Expansion, ExpansionError, list_expansions, read_expansion
from core.recipes.catalogue import TRANSFORMS, ParamSpec, Step, TransformSpec, build_step, compose_of, steps_of
from core.recipes.expansion import ExpansionResult, expand_train_set
from core.recipes.fit import FitReference, fit_reference, fit_score
from core.recipes.presets import PRESETS, preset
from core.recipes.store import (
    Recipe,
    RecipeError,
    RecipeInfo,
    delete_recipe,
    ensure_presets,
    list_recipes,
    load_recipe,
    parse_recipe,
    recipe_to_yaml,
    recipes_dir,
    run_recipe,
    save_recipe,
)

__all__ = [
    "PRESETS",
    "TRANSFORMS",
    "ParamSpec",
    "Recipe",
    "RecipeError",
    "RecipeInfo",
    "Step",
    "TransformSpec",
    "apply_recipe",
    "augmented_copies",
    "Expansion",
    "ExpansionError",
    "ExpansionResult",
    "FitReference",
    "build_step",
    "compose_of",
    "delete_recipe",
    "ensure_presets",
    "expand_train_set",
    "fit_reference",
    "fit_score",
    "list_expansions",
    "list_recipes",
    "load_recipe",
    "parse_recipe",
    "preset",
    "read_expansion",
    "recipe_to_yaml",
    "recipes_dir",
    "run_recipe",
    "save_recipe",
    "steps_of",
]
