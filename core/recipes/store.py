"""Noise recipes on disk: `.workbench/recipes/<name>.yaml`, in albumentations' own YAML serialization.

    Recipe                       name, yaml_text (canonical: what A.save writes), version, compose
    parse_recipe(text, name=)    a checked Recipe, or RecipeError naming the line, the transform, the parameter
    recipe_to_yaml(compose)      the canonical YAML (albumentations.save(..., data_format="yaml"))
    recipes_dir(layout)          <project>/.workbench/recipes/
    list_recipes(layout)         RecipeInfo per recipe, built-ins included; a broken file is marked, never raised
    load_recipe(name, recipes_dir=)   the file <name>.yaml, else the built-in of that name
    save_recipe / delete_recipe  checked first, written atomically; ensure_presets copies the presets on first write
    run_recipe(name, recipe_yaml=, recipes_dir=)  the recipe a run uses: the YAML its config stored, else by name
    resolve_recipe_yaml(...)     what a new run's config stores as aug.recipe_yaml (core.runs.folder.create_run)

"none" and the legacy "default" are fixed: runs made before recipes were stored with the run name them,
so no file can replace them and they cannot be saved or deleted. The presets light, document-scan and
heavy are copied into recipes/ on the first write, where a user may edit them; deleting a copied
preset brings back the shipped one. Reading never writes.

A recipe's `version` is a short sha256 of its canonical content (numbers as floats, albumentations'
own version line left out), so the same pipeline has the same version after a round trip or an upgrade
of albumentations that changes nothing it writes.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import io
import json
import re
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from core.io.atomic import write_text_atomic
from core.project.layout import ProjectLayout
from core.recipes.presets import BUILT_IN, LEGACY_DEFAULT, PRESETS, preset
from core.recipes.serialization import (
    albumentations,
    albumentations_error,
    known_params,
    normalized,
    probe_images,
    registry,
)

FIXED = ("none", LEGACY_DEFAULT)  # built in, never read from a file, never saved or deleted
EDITABLE_PRESETS = tuple(name for name in PRESETS if name not in FIXED)
MAX_RECIPE_BYTES = 1_000_000
NAME_RULE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# In albumentations' registry, but base classes and settings rather than transforms a recipe names.
_NOT_TRANSFORMS = {
    "BasicTransform",
    "DualTransform",
    "ImageOnlyTransform",
    "Transform3D",
    "BboxParams",
    "KeypointParams",
}
_STAMP = re.compile(r"\A# noise recipe (\S+), version \w+\n")


class RecipeError(ValueError):
    """A noise recipe that cannot be used; the message names the recipe (its file) and what is wrong."""


@dataclass(frozen=True)
class Recipe:
    """A checked recipe: its name, canonical YAML, version, and the albumentations Compose it builds.

    `compose` is shared: apply it through core.recipes.apply (which copies it) rather than reseeding it.
    """

    name: str
    yaml_text: str
    version: str
    compose: Any = field(compare=False, repr=False)


@dataclass(frozen=True)
class RecipeInfo:
    """One entry of `list_recipes`: path None for a built-in not copied into recipes/; error for a broken file."""

    name: str
    path: Path | None
    version: str | None
    error: str | None
    built_in: bool = False


# ------------------------------------------------------------------ parsing and checking


def parse_recipe(yaml_text: str, *, name: str, source: str | None = None) -> Recipe:
    """A Recipe from albumentations YAML, checked the way a training job would use it.

    Raises RecipeError (messages start with the recipe's name, and `source`, e.g. its file) for:
    invalid YAML (with the line), a document albumentations did not write, an unknown transform (with
    close known names), an unknown or invalid parameter (with the transform, parameter and value), or a
    transform that fails on, or does not return, a small uint8 RGB image and a grey image as RGB.
    """
    where = f"noise recipe {name!r}" + (f" ({source})" if source else "")
    data = _yaml_document(yaml_text, where)
    _check_node(data["transform"], where, "the recipe")
    compose = _instantiate(data, where)
    A = albumentations()
    if type(compose) is not A.Compose:
        compose = A.Compose([compose], p=1.0)
    try:  # before the dry run: a transform albumentations cannot write back (FDA reads files) is never run
        canonical = recipe_to_yaml(compose)
    except RecipeError as exc:
        raise RecipeError(f"{where}: {exc}") from exc
    _dry_run(compose, where)
    return Recipe(name=name, yaml_text=canonical, version=recipe_version(compose), compose=compose)


def recipe_to_yaml(compose: Any) -> str:
    """The canonical YAML of a pipeline: exactly what `albumentations.save(compose, f, data_format="yaml")` writes."""
    buffer = io.StringIO()
    try:
        albumentations().save(compose, buffer, data_format="yaml")
    except (NotImplementedError, TypeError, ValueError) as exc:
        raise RecipeError(f"this pipeline cannot be saved as YAML: {exc}") from exc
    return buffer.getvalue()


def recipe_version(compose: Any) -> str:
    """A short sha256 of the pipeline's canonical content (see the module docstring)."""
    content = normalized(albumentations().to_dict(compose)["transform"])
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:12]


def _yaml_document(yaml_text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(yaml_text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise RecipeError(f"{where}: not valid YAML{line}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise RecipeError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("transform"), dict):
        raise RecipeError(
            f"{where}: expected albumentations' YAML (a 'transform:' mapping, as albumentations.save writes it)"
        )
    return data


def _check_node(node: Any, where: str, label: str) -> None:
    """Every transform named is one albumentations knows, with parameters it takes (before building anything)."""
    if not isinstance(node, dict) or "__class_fullname__" not in node:
        raise RecipeError(f"{where}: {label} is not a transform (a mapping with __class_fullname__)")
    name = str(node["__class_fullname__"]).rsplit(".", 1)[-1]
    cls = registry().get(name)
    if cls is None:
        offered = sorted(set(registry()) - _NOT_TRANSFORMS)
        close = difflib.get_close_matches(name, offered, n=4, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "no albumentations transform has a similar name"
        raise RecipeError(f"{where}: {label}: unknown transform {name!r}; {hint}")
    known = known_params(cls)
    unknown = sorted(set(node) - {"__class_fullname__"} - (known if known is not None else set(node)))
    if unknown:
        raise RecipeError(
            f"{where}: {label} ({name}): unknown parameter(s) {', '.join(map(repr, unknown))}; "
            f"{name} takes {', '.join(sorted(known or ()))}"
        )
    children = node.get("transforms")
    if children is not None:
        if not isinstance(children, list):
            raise RecipeError(f"{where}: {label} ({name}): 'transforms' must be a list of transforms")
        for index, child in enumerate(children, start=1):
            _check_node(child, where, _child_label(label, index))


def _child_label(label: str, index: int) -> str:
    """ "step 3" for the recipe's third transform, "step 3.2" for the second inside it."""
    return f"step {index}" if label == "the recipe" else f"{label}.{index}"


def _instantiate(data: dict[str, Any], where: str) -> Any:
    """albumentations.from_dict; on failure, the first transform (innermost first) that fails is named."""
    A = albumentations()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*has no 'p' parameter")  # p defaults to 0.5, as A.load does
        # Keys albumentations' own to_dict writes but its constructor then calls invalid (RGBShift in 2.0.x
        # writes AdditiveNoise's); a key no transform takes was refused by _check_node already.
        warnings.filterwarnings("ignore", message=r"Argument\(s\) .* are not valid for transform")
        try:
            return A.from_dict(data)
        except Exception as exc:  # noqa: BLE001 - pydantic validation, TypeErrors, ...: named below
            for label, node in _nodes(data["transform"], "the recipe"):
                try:
                    A.from_dict({"transform": node})
                except Exception as inner:  # noqa: BLE001
                    name = str(node["__class_fullname__"]).rsplit(".", 1)[-1]
                    raise RecipeError(f"{where}: {label} ({name}): {albumentations_error(inner)}") from inner
            raise RecipeError(f"{where}: {albumentations_error(exc)}") from exc


def _nodes(node: dict[str, Any], label: str) -> list[tuple[str, dict[str, Any]]]:
    """(label, node) of every transform in the tree, innermost first: "step 3", "step 3.2", ..."""
    found = []
    for index, child in enumerate(node.get("transforms") or [], start=1):
        found += _nodes(child, _child_label(label, index))
    return [*found, (label, node)]


def _dry_run(compose: Any, where: str) -> None:
    """Each transform once at p = 1, then the whole recipe, on both probe images: uint8 RGB in and out."""
    A = albumentations()
    checks = []
    for label, transform in _leaves(compose, "the recipe"):
        forced = copy.deepcopy(transform)
        forced.p = 1.0
        checks.append((f"{label} ({type(transform).__name__})", A.Compose([forced], p=1.0, seed=0)))
    checks.append(("the whole recipe", A.Compose([copy.deepcopy(compose)], p=1.0, seed=0)))
    for label, pipeline in checks:
        for kind, image in probe_images().items():
            try:
                out = pipeline(image=image.copy())["image"]
            except Exception as exc:  # noqa: BLE001 - any failure on a plain image makes the recipe unusable
                raise RecipeError(f"{where}: {label} fails on {kind}: {albumentations_error(exc)}") from exc
            if not (isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3):
                got = f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}".strip()
                raise RecipeError(f"{where}: {label} turns a uint8 RGB image into {got}; a recipe must keep uint8 RGB")


def _leaves(transform: Any, label: str) -> list[tuple[str, Any]]:
    if not isinstance(transform, albumentations().BaseCompose):  # ColorJitter has .transforms too: functions
        return [(label, transform)]
    found = []
    for index, child in enumerate(transform.transforms, start=1):
        found += _leaves(child, _child_label(label, index))
    return found


# ------------------------------------------------------------------ files


def recipes_dir(layout: ProjectLayout) -> Path:
    return layout.work_dir / "recipes"


def check_name(name: Any) -> str:
    """`name` when it may name a recipe file (1..64 of A-Z a-z 0-9 _ -), else RecipeError."""
    if not isinstance(name, str) or not NAME_RULE.fullmatch(name):
        raise RecipeError(
            f"recipe name {name!r}: use 1 to 64 letters, digits, '-' or '_' (no '/', '.', spaces or other signs)"
        )
    return name


def built_in_recipe(name: str) -> Recipe:
    """A shipped recipe (PRESETS or the legacy "default") as a Recipe."""
    compose = preset(name)
    return Recipe(name=name, yaml_text=recipe_to_yaml(compose), version=recipe_version(compose), compose=compose)


def _read_file(path: Path) -> str:
    """A recipe file's text; RecipeError for a missing, non-regular, huge or non-UTF-8 file (read only if sane)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise RecipeError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise RecipeError(f"{path}: not a regular file")
    if info.st_size > MAX_RECIPE_BYTES:
        raise RecipeError(f"{path}: {info.st_size:,} bytes; a recipe file is at most {MAX_RECIPE_BYTES:,}")
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_RECIPE_BYTES + 1).decode("utf-8")
    except OSError as exc:
        raise RecipeError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise RecipeError(f"{path}: not UTF-8 text") from exc


def load_recipe(name: str, *, recipes_dir: Path) -> Recipe:
    """The recipe `name`: recipes_dir/<name>.yaml where it exists, else the built-in of that name.

    "none" and "default" are always the built-ins. RecipeError for a bad name, a broken file (named),
    or a name that is neither a file nor built in (the message names the file looked for).
    """
    check_name(name)
    if name in FIXED:
        return built_in_recipe(name)
    path = Path(recipes_dir) / f"{name}.yaml"
    if path.exists() or path.is_symlink():
        return parse_recipe(_read_file(path), name=name, source=str(path))
    if name in PRESETS:
        return built_in_recipe(name)
    saved = sorted(p.stem for p in Path(recipes_dir).glob("*.yaml")) if Path(recipes_dir).is_dir() else []
    raise RecipeError(
        f"noise recipe {name!r}: file {path} not found (built in: {', '.join(BUILT_IN)}; "
        f"saved: {', '.join(saved) or 'none'})"
    )


def list_recipes(layout: ProjectLayout) -> list[RecipeInfo]:
    """Every recipe a run may name: the presets, the saved files (sorted), then the legacy "default".

    Built-ins not copied yet have path None. A file that cannot be used is listed with its error (and
    version None); this never raises and never writes. Files named "none.yaml" / "default.yaml" are
    left out: those names are fixed built-ins.
    """
    folder = recipes_dir(layout)
    try:
        files = {p.stem: p for p in folder.iterdir() if p.suffix == ".yaml" and not p.name.startswith(".")}
    except OSError:
        files = {}
    names = [*PRESETS, *sorted(n for n in files if n not in BUILT_IN), LEGACY_DEFAULT]
    infos = []
    for name in names:
        path = files.get(name) if name not in FIXED else None
        try:
            recipe = load_recipe(name, recipes_dir=folder) if path is not None else built_in_recipe(name)
            infos.append(RecipeInfo(name, path, recipe.version, None, built_in=name in BUILT_IN))
        except Exception as exc:  # noqa: BLE001 - one broken recipe is marked, the list goes on
            infos.append(RecipeInfo(name, path, None, str(exc) or type(exc).__name__, built_in=name in BUILT_IN))
    return infos


def ensure_presets(layout: ProjectLayout) -> list[Path]:
    """Copy the editable presets into recipes/ where absent (a write path's first step); returns those written."""
    folder = recipes_dir(layout)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in EDITABLE_PRESETS:
        path = folder / f"{name}.yaml"
        if not (path.exists() or path.is_symlink()):
            written.append(write_text_atomic(path, built_in_recipe(name).yaml_text))
    return written


def _check_writable(name: str) -> str:
    check_name(name)
    if name in FIXED:
        raise RecipeError(f"recipe {name!r} is built in and fixed (older runs name it); use another name")
    return name


def save_recipe(layout: ProjectLayout, name: str, yaml_text: str) -> Recipe:
    """Check `yaml_text` as recipe `name`, then write its canonical YAML atomically to recipes/<name>.yaml.

    Nothing is written when the name or the recipe is refused (RecipeError); the presets are copied
    first (ensure_presets). Comments in `yaml_text` are not kept: the file is what albumentations writes.
    """
    recipe = parse_recipe(yaml_text, name=_check_writable(name))
    ensure_presets(layout)
    write_text_atomic(recipes_dir(layout) / f"{name}.yaml", recipe.yaml_text)
    return recipe


def delete_recipe(layout: ProjectLayout, name: str) -> None:
    """Remove recipes/<name>.yaml (a copied preset goes back to the shipped one); RecipeError when there is none."""
    path = recipes_dir(layout) / f"{_check_writable(name)}.yaml"
    if not (path.exists() or path.is_symlink()):
        what = "is built in and was never copied" if name in PRESETS else "has no file"
        raise RecipeError(f"recipe {name!r} {what}: nothing to delete ({path})")
    path.unlink()


# ------------------------------------------------------------------ the recipe a run uses


def run_recipe(name: str, *, recipe_yaml: str = "", recipes_dir: Path) -> Recipe:
    """The recipe of a run: the YAML its config stored when it was created, else `name` loaded now (older runs)."""
    if recipe_yaml.strip():
        return parse_recipe(recipe_yaml, name=name, source="the run's config, aug.recipe_yaml")
    return load_recipe(name, recipes_dir=recipes_dir)


def stamped_yaml(recipe: Recipe) -> str:
    """The recipe's YAML headed by a comment naming it: what a run's config stores as aug.recipe_yaml."""
    return f"# noise recipe {recipe.name}, version {recipe.version}\n{recipe.yaml_text}"


def resolve_recipe_yaml(name: str, *, recipe_yaml: str = "", recipes_dir: Path) -> str:
    """aug.recipe_yaml for a new run of recipe `name`.

    Kept as given when it is the same recipe's (a rerun of an earlier run's config keeps the recipe as
    that run had it) or has no stamp (YAML given by hand); else `name` as it is now, stamped. "" when
    `name` cannot be loaded: the job then loads it by name and fails naming the file.
    """
    found = _STAMP.match(recipe_yaml)
    if recipe_yaml.strip() and (found is None or found.group(1) == name):
        return recipe_yaml
    try:
        return stamped_yaml(load_recipe(name, recipes_dir=recipes_dir))
    except RecipeError:
        return ""
