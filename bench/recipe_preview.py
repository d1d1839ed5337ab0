"""The Recipes page's preview: seconds to draw 8 train images x 4 draws of a recipe, as the page does.

What the page calls (workbench.cache.recipe_preview, in this process, Streamlit in bare mode) on
  - the demo project (64 px digits; a copy of /tmp/bench/demo when it exists, else a small one built here), and
  - a synthetic project of 512 x 512 JPEGs (varied shapes), at the page's work sizes 256, 512 and full,
for the presets light, document-scan and heavy. Per case, three figures:
  cold     images decoded and shrunk, the recipe applied to each, 32 thumbnails encoded (first view)
  edit     a parameter changed: the new YAML parsed and checked (checked_recipe), then the preview
           (the images' decoded copies are cached): what one slider change costs
  reroll   the same recipe, a new draw seed: the recipe applied again, nothing else
Target: edit <= 1 s for 8 x 4 at the default work size (256 px). Wall-clock on a shared 2-core
machine: the load average is printed first; compare runs taken at similar load.

    .venv/bin/python bench/recipe_preview.py [--demo /tmp/bench/demo] [--images 8] [--draws 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import REPO, build_project, note, report, temp_dir  # noqa: E402

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

BENCH = "recipe_preview"
TARGET_S = 1.0
PRESETS = ("light", "document-scan", "heavy")


def _edited(yaml_text: str, step: int) -> str:
    """The recipe's YAML with its first probability changed: a new text, as a slider change makes."""
    return yaml_text.replace("p: 1.0", f"p: 0.9{step}", 1) if "p: 1.0" in yaml_text else yaml_text + f"# {step}\n"


def measure(data, preset: str, *, images: int, draws: int, work_px: int, repeat: int) -> dict[str, float]:
    """Median seconds of a cold preview, an edit and a reroll (see the module docstring)."""
    from core.recipes.store import built_in_recipe
    from workbench import cache
    from workbench.components.recipe_preview import SAMPLE_SEED, SHOW_PX, sample_images

    paths = list(sample_images(data, "train", images, seed=SAMPLE_SEED)["path"])
    text = built_in_recipe(preset).yaml_text
    figures: dict[str, list[float]] = {"cold": [], "edit": [], "reroll": []}
    for attempt in range(repeat):
        st_clear()
        kwargs = dict(images=paths, draws=draws, work_px=work_px, show_px=SHOW_PX)
        cache.checked_recipe(text, preset)  # the page parses the saved recipe before the preview
        figures["cold"].append(cache.recipe_preview(text, preset, seed=attempt, **kwargs)[1])
        start = time.perf_counter()
        new_text = _edited(text, attempt)
        recipe, error = cache.checked_recipe(new_text, preset)
        assert recipe is not None, error
        cache.recipe_preview(recipe.yaml_text, preset, seed=attempt, **kwargs)
        figures["edit"].append(time.perf_counter() - start)
        start = time.perf_counter()
        cache.recipe_preview(recipe.yaml_text, preset, seed=attempt + 100, **kwargs)
        figures["reroll"].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in figures.items()}


def st_clear() -> None:
    """Empty the page's preview caches: every figure starts from files on disk."""
    from workbench import cache

    for cached in (cache._recipe_preview, cache._preview_source, cache._preview_thumbnail, cache.checked_recipe):
        cached.clear()


def run_project(label: str, root: Path, *, work_sizes, args) -> None:
    from core.project.dataset import load_dataset

    data = load_dataset(root)
    for work_px in work_sizes:
        for preset in PRESETS:
            got = measure(data, preset, images=args.images, draws=args.draws, work_px=work_px, repeat=args.repeat)
            size = f"{work_px} px" if work_px else "full size"
            name = f"{label}, {preset}, at {size}"
            target = TARGET_S if work_px == 256 else None
            report(BENCH, f"{name}: edit", got["edit"], "s", target=target)
            note(f"{name}: cold {got['cold']:.2f} s, reroll {got['reroll']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", type=Path, default=Path("/tmp/bench/demo"))
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from streamlit.logger import set_log_level

    set_log_level(logging.ERROR)  # bare mode: no "No runtime found" / "missing ScriptRunContext" lines
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    print(f"{BENCH}: {args.images} images x {args.draws} draws; load average {os.getloadavg()[0]:.2f}", flush=True)
    from core.recipes.serialization import albumentations

    albumentations()  # its import (seconds, once per server process) is not part of any figure
    with temp_dir("recipe-preview-") as tmp:
        demo = tmp / "demo"
        if (args.demo / "train.csv").is_file():
            shutil.copytree(args.demo, demo, symlinks=True)  # a copy: indexing it never writes into the original
        else:
            from core.project.demo import build_demo

            build_demo(demo, per_class=20)
        run_project("demo 64 px", demo, work_sizes=(256,), args=args)
        big = tmp / "big"
        build_project(big, n_train=24, n_test=8, size=512, num_classes=4)
        run_project("512 px JPEGs", big, work_sizes=(256, 512, 0), args=args)


if __name__ == "__main__":
    main()
