"""Offline expansion: `workbench expand` and core.recipes.expansion on a 30-image project."""

from __future__ import annotations

import errno
import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import core.recipes.expansion as expansion
from core.io.csvfile import read_csv
from core.io.images import open_rgb
from core.labels.versions import LabelsError, resolve_labels
from core.project.dataset import load_dataset
from core.project.layout import open_layout
from core.recipes.apply import augmented_copies
from core.recipes.augmented import ExpansionError, list_expansions
from core.recipes.expansion import expand_train_set, image_seed
from core.recipes.expansion_job import expansion_status, start_expansion
from core.recipes.store import load_recipe, recipes_dir
from core.runs.progress import Callbacks
from tests.support.builders import build_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """30 train images (3 classes x 10, 32 px) and 4 test images."""
    return build_project(tmp_path, per_class=10)


def augmented(root: Path) -> Path:
    return root / ".workbench" / "augmented"


def image_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "images").iterdir())}


def expand(root: Path, *, name: str, copies: int = 2, callbacks: Callbacks | None = None, **options):
    """The library call behind `workbench expand`, on train.csv's rows, one worker unless told."""
    dataset = load_dataset(root)
    recipe = load_recipe(options.pop("recipe", "light"), recipes_dir=recipes_dir(dataset.layout))
    return expand_train_set(
        dataset.layout,
        dataset.train,
        recipe,
        copies=copies,
        name=name,
        labels="original",
        workers=options.pop("workers", 1),
        callbacks=callbacks,
        **options,
    )


def test_expand_writes_k_copies_of_every_train_image_with_its_csv_recipe_and_manifest(project, run_cli):
    code, out, err = run_cli(["expand", "--project", str(project), "--recipe", "light", "--copies", "3"])
    assert code == 0, err
    folder = augmented(project) / "light-x3"
    assert out.strip().splitlines()[-1] == str(folder)
    assert "90 images from 30 of 30 train images" in err and "data.labels=augmented:light-x3" in err

    files = sorted(p.name for p in (folder / "images").iterdir())
    assert len(files) == 90 and files[:3] == ["bird_0__aug0.png", "bird_0__aug1.png", "bird_0__aug2.png"]
    table = read_csv(folder / "train.csv").frame
    assert list(table.columns) == ["ID", "target", "original_ID"]
    assert sorted(table["ID"]) == files
    train = pd.read_csv(project / "train.csv", dtype=str)
    assert table["original_ID"].value_counts().to_dict() == {i: 3 for i in train["ID"]}
    assert table["target"].tolist() == [t for t in train["target"] for _ in range(3)]  # each copy keeps its label
    first = np.asarray(Image.open(folder / "images" / "cat_0__aug0.png"))
    assert first.shape == (32, 32, 3) and first.dtype == np.uint8

    manifest = json.loads((folder / "manifest.json").read_text())
    recipe = load_recipe("light", recipes_dir=recipes_dir(open_layout(project)))
    assert {k: manifest[k] for k in ("recipe", "recipe_version", "seed", "copies", "labels")} == {
        "recipe": "light",
        "recipe_version": recipe.version,
        "seed": 0,
        "copies": 3,
        "labels": "original",  # "latest" without an exported version
    }
    assert (manifest["originals"], manifest["images"], manifest["skipped"]) == (30, 90, [])
    assert manifest["seconds"] > 0 and manifest["workers"] >= 1
    assert (folder / "recipe.yaml").read_text().startswith(f"# noise recipe light, version {recipe.version}")


def test_the_same_seed_writes_the_same_bytes_with_one_or_two_workers_and_another_seed_does_not(
    project, run_cli, monkeypatch
):
    monkeypatch.setattr(expansion, "MIN_IMAGES_PER_WORKER", 1)  # two worker processes even for 30 images
    runs = {"one": ["--workers", "1"], "two": ["--workers", "2"], "seed1": ["--workers", "1", "--seed", "1"]}
    for name, extra in runs.items():
        code, _, err = run_cli(
            ["expand", "--project", str(project), "--recipe", "document-scan", "--copies", "2", "--name", name, *extra]
        )
        assert code == 0, err
    one, two, other = (image_bytes(augmented(project) / n) for n in runs)
    assert len(one) == 60 and one == two
    assert (augmented(project) / "one" / "train.csv").read_bytes() == (
        augmented(project) / "two" / "train.csv"
    ).read_bytes()
    assert sum(one[f] != other[f] for f in one) > 30  # another seed: other noise


def test_names_are_made_safe_and_never_leave_the_augmented_folder(project, tmp_path, run_cli):
    code, out, err = run_cli(
        ["expand", "--project", str(project), "--recipe", "light", "--copies", "1", "--name", "../../outside x"]
    )
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(augmented(project) / "outside-x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]
    assert sorted(p.name for p in project.iterdir()) == [
        ".workbench", "meta.csv", "sample_submission.csv", "test", "train", "train.csv",
    ]  # fmt: skip

    code, _, err = run_cli(
        ["expand", "--project", str(project), "--recipe", "light", "--copies", "1", "--name", "/../"]
    )
    assert code == 1 and "expansion name '/../'" in err

    dataset = load_dataset(project)
    for spec in ("augmented:../outside-x", "augmented:/etc", "augmented:"):
        with pytest.raises(LabelsError, match="expansion name"):
            resolve_labels(dataset, spec)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (augmented(project) / "linked").symlink_to(outside)
    with pytest.raises(ExpansionError, match="resolves outside"):
        expand(project, name="linked")
    assert list(outside.iterdir()) == []


def _corrupt_in_place(path: Path) -> None:
    """Zeros over the middle of the file, keeping its size and modification time (the image index keeps
    its cached verdict, as when a file goes bad after the project was checked)."""
    info = path.stat()
    data = bytearray(path.read_bytes())
    data[40:-20] = bytes(len(data) - 60)
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_a_corrupt_image_is_skipped_and_named(project, run_cli):
    load_dataset(project)  # indexed while the image was fine
    _corrupt_in_place(project / "train" / "dog_4.png")
    code, out, err = run_cli(["expand", "--project", str(project), "--recipe", "light", "--copies", "2"])
    assert code == 0, err
    assert f"skipped: dog_4.png: {project / 'train' / 'dog_4.png'}: not a readable image" in err
    assert "58 images from 29 of 30 train images" in err
    folder = Path(out.strip().splitlines()[-1])
    table = read_csv(folder / "train.csv").frame
    assert len(table) == 58 and "dog_4.png" not in set(table["original_ID"])
    assert not list((folder / "images").glob("dog_4__*"))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [s["ID"] for s in manifest["skipped"]] == ["dog_4.png"] and manifest["images"] == 58


class StopAfter(Callbacks):
    """Raises once `steps` images are done: an expansion interrupted mid-way (Ctrl-C, a crash)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_progress(self, *, progress: float, message: str = "", **where) -> None:
        if where.get("step", 0) >= self.steps:
            raise KeyboardInterrupt


def test_an_interrupted_expansion_leaves_nothing_that_looks_finished_and_the_next_run_resumes(project):
    with pytest.raises(KeyboardInterrupt):
        expand(project, name="half", callbacks=StopAfter(10))
    layout = open_layout(project)
    assert not (augmented(project) / "half").exists()
    assert list_expansions(layout) == []
    with pytest.raises(LabelsError, match="no finished expansion"):
        resolve_labels(load_dataset(project), "augmented:half")
    images = augmented(project) / ".partial-half" / "images"
    assert len(list(images.glob("*.png"))) == 20
    (images / ".cat_5__aug0.png.x1y2.tmp").write_bytes(b"half a file")  # a write killed with its process

    result = expand(project, name="half")
    assert (result.resumed, result.images) == (20, 60)
    assert not (augmented(project) / ".partial-half").exists()
    expand(project, name="whole")
    assert image_bytes(augmented(project) / "half") == image_bytes(augmented(project) / "whole")  # no temp file
    assert [e.name for e in list_expansions(layout)] == ["half", "whole"]


def test_a_full_disk_fails_with_a_message_and_removes_the_unfinished_folder(project, monkeypatch, run_cli):
    calls = []
    real_save = expansion._save_png

    def save_until_full(pixels, handle):
        calls.append(1)
        if len(calls) > 7:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(pixels, handle)

    monkeypatch.setattr(expansion, "_save_png", save_until_full)
    code, out, err = run_cli(
        ["expand", "--project", str(project), "--recipe", "light", "--copies", "2", "--workers", "1"]
    )
    assert code == 1 and out == ""
    assert "the disk is full" in err and "No space left on device" in err and "was removed" in err
    assert sorted(p.name for p in augmented(project).iterdir()) == [".light-x2.lock"]


def test_an_existing_expansion_is_kept_unless_replaced(project, run_cli):
    base = ["expand", "--project", str(project), "--copies", "2", "--name", "mine"]
    assert run_cli([*base, "--recipe", "light"])[0] == 0
    code, out, err = run_cli([*base, "--recipe", "light"])
    assert code == 0 and "already written (60 images); nothing to do" in err
    code, _, err = run_cli([*base, "--recipe", "heavy"])
    assert code == 1 and "expansion 'mine' exists with another recipe 'light' (now 'heavy')" in err
    code, _, err = run_cli([*base, "--recipe", "heavy", "--replace"])
    assert code == 0, err
    assert json.loads((augmented(project) / "mine" / "manifest.json").read_text())["recipe"] == "heavy"
    assert sorted(p.name for p in augmented(project).iterdir()) == [".mine.lock", "mine"]


def test_the_background_job_writes_the_expansion_and_its_status(project):
    layout = open_layout(project)
    name, started = start_expansion(layout, recipe="light", copies=2, workers=1)
    assert (name, started) == ("light-x2", True)
    deadline = time.monotonic() + 120
    while (status := expansion_status(layout, name))["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert status["state"] == "succeeded", status
    assert (status["progress"], status["images"], status["steps"]) == (1.0, 60, 30)
    assert status["folder"] == str(augmented(project) / "light-x2")
    assert [e.name for e in list_expansions(layout)] == ["light-x2"]


def test_copy_k_is_what_augmented_copies_gives_for_the_image_seed(project):
    """The contract in core.recipes.expansion: copy k of ID = augmented_copies(..., seed=image_seed(seed, ID))[k]."""
    result = expand(project, name="check", copies=3, recipe="document-scan", seed=5)
    recipe = load_recipe("document-scan", recipes_dir=recipes_dir(open_layout(project)))
    for image_id in ("cat_0.png", "dog_7.png", "bird_9.png"):
        pixels = np.asarray(open_rgb(project / "train" / image_id))
        expected = augmented_copies(recipe, pixels, copies=3, seed=image_seed(5, image_id))
        for k in range(3):
            png = Image.open(io.BytesIO((result.folder / "images" / f"{image_id[:-4]}__aug{k}.png").read_bytes()))
            assert png.format == "PNG" and np.array_equal(np.asarray(png), expected[k])


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_worker_that_dies_ends_the_expansion_with_a_message_instead_of_hanging(project, tmp_path):
    import os
    import signal

    recipe = load_recipe("light", recipes_dir=tmp_path)
    image = next((project / "train").iterdir())
    tasks = [(f"img{i}.png", str(image), f"img{i}") for i in range(4000)]
    out = tmp_path / "images"
    out.mkdir()
    outcomes = expansion._outcomes(tasks, recipe, copies=1, seed=0, images_dir=out, workers=2)
    with pytest.raises(ExpansionError, match="a worker process of the expansion died"):
        for n, _ in enumerate(outcomes):
            if n == 0:  # the pool is at work: kill one of its workers (the fork server's children)
                servers = [
                    c for c in _children(os.getpid()) if b"forkserver" in Path(f"/proc/{c}/cmdline").read_bytes()
                ]
                workers = [w for server in servers for w in _children(server)]
                assert workers
                os.kill(workers[0], signal.SIGKILL)


def test_workers_never_run_the_parents_main_script(project, tmp_path, monkeypatch):
    """AppTest leaves a Streamlit script as __main__; a worker that ran it again died (and the suite hung)."""
    import sys
    import types

    script = tmp_path / "main_script.py"
    script.write_text("import os\nos._exit(3)\n")  # what a worker must never run
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    recipe = load_recipe("light", recipes_dir=tmp_path)
    image = next((project / "train").iterdir())
    tasks = [(f"img{i}.png", str(image), f"img{i}") for i in range(40)]
    out = tmp_path / "images"
    out.mkdir()
    outcomes = list(expansion._outcomes(tasks, recipe, copies=1, seed=0, images_dir=out, workers=2))
    assert len(outcomes) == 40 and len(list(out.glob("*.png"))) == 40
    assert sys.modules["__main__"] is main  # put back
