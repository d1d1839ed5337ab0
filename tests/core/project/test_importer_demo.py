"""core.project.importer (ImageFolder import) and core.project.demo (the built-in demo project), checked end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.project.dataset import load_dataset
from core.project.demo import TRUTH_FILE, build_demo
from core.project.importer import import_folder


def _image(path: Path, colour: tuple[int, int, int], size: int = 24) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), colour).save(path)


def _csv(path: Path) -> dict[str, list]:
    return pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("list")


# --- import ------------------------------------------------------------------------------------


def test_import_class_subfolders_as_train(tmp_path):
    src = tmp_path / "src"
    _image(src / "dog" / "a.png", (0, 200, 0))
    _image(src / "cat" / "a.png", (200, 0, 0))  # same file name in two classes
    _image(src / "cat" / "b.jpg", (210, 0, 0))
    _image(src / "cat" / "more" / "c.png", (220, 0, 0))  # nested below a class folder
    (src / "readme.txt").write_text("about this data")
    _image(src / ".cache" / "x.png", (0, 0, 0))  # hidden: not a class
    (src / "empty_class").mkdir()

    summary = import_folder(src, tmp_path / "project")
    root = tmp_path / "project"
    assert summary.root == root.resolve()
    assert summary.classes == ["cat", "dog"]
    assert (summary.train_images, summary.test_images, summary.test_labelled) == (4, 0, False)
    assert summary.skipped == ["readme.txt"]
    assert _csv(root / "meta.csv") == {"target": ["0", "1"], "class_name": ["cat", "dog"]}
    ids = ["cat__a.png", "cat__b.jpg", "cat__c.png", "dog__a.png"]
    assert _csv(root / "train.csv") == {"ID": ids, "target": ["0", "0", "0", "1"]}
    assert sorted(p.name for p in (root / "train").iterdir()) == ids
    assert (src / "cat" / "a.png").is_file()  # the source is copied, never moved

    dataset = load_dataset(root, workers=1)
    assert dataset.report.usable and len(dataset.train) == 4
    assert dataset.classes == {0: "cat", 1: "dog"}
    assert not dataset.report.errors


def test_import_keeps_every_id_unique_and_every_target_right(tmp_path):
    src = tmp_path / "src"
    _image(src / "cat" / "a.png", (200, 0, 0))
    _image(src / "cat" / "sub" / "a.png", (201, 0, 0))  # same name twice in one class
    _image(src / "dog" / "a.png", (0, 200, 0))
    import_folder(src, tmp_path / "project")
    train = _csv(tmp_path / "project" / "train.csv")
    assert len(set(train["ID"])) == 3
    assert dict(zip(train["ID"], train["target"], strict=True)) == {
        "cat__a.png": "0",
        "cat__a-2.png": "0",
        "dog__a.png": "1",
    }


def test_import_train_and_labelled_test_subfolders(tmp_path):
    src = tmp_path / "src"
    for cls, colour in (("ant", (200, 0, 0)), ("bee", (0, 200, 0))):
        for n in range(2):
            _image(src / "train" / cls / f"{n}.png", colour)
        _image(src / "test" / cls / "t.png", colour)
    _image(src / "test" / "wasp" / "t.png", (0, 0, 200))  # a test class train does not have
    summary = import_folder(src, tmp_path / "project")
    root = summary.root
    assert summary.classes == ["ant", "bee"]
    assert (summary.train_images, summary.test_images, summary.test_labelled) == (4, 2, True)
    assert summary.skipped == ["test/wasp"]
    assert _csv(root / "test_labels.csv") == {"ID": ["ant__t.png", "bee__t.png"], "target": ["0", "1"]}
    assert _csv(root / "sample_submission.csv")["ID"] == ["ant__t.png", "bee__t.png"]

    dataset = load_dataset(root, workers=1)
    assert dataset.report.findings == []
    assert len(dataset.train) == 4 and len(dataset.test) == 2
    assert dataset.test_labels["target"].tolist() == [0, 1]


def test_import_train_subfolders_and_unlabelled_test_images(tmp_path):
    src = tmp_path / "src"
    _image(src / "train" / "ant" / "0.png", (200, 0, 0))
    _image(src / "train" / "bee" / "0.png", (0, 200, 0))
    for n in range(3):
        _image(src / "test" / f"img_{n}.png", (n * 40, n * 40, n * 40))
    (src / "test" / "notes.txt").write_text("not an image")
    summary = import_folder(src, tmp_path / "project")
    root = summary.root
    assert (summary.train_images, summary.test_images, summary.test_labelled) == (2, 3, False)
    assert not (root / "test_labels.csv").exists()
    assert _csv(root / "sample_submission.csv") == {"ID": [f"img_{n}.png" for n in range(3)], "target": ["0"] * 3}
    dataset = load_dataset(root, workers=1)
    assert dataset.report.findings == []
    assert len(dataset.test) == 3 and dataset.test_labels is None


def test_import_korean_class_folders(tmp_path):
    src = tmp_path / "src"
    _image(src / "고양이" / "a.png", (200, 0, 0))
    _image(src / "강아지" / "a.png", (0, 200, 0))
    summary = import_folder(src, tmp_path / "project")
    dataset = load_dataset(summary.root, workers=1)
    assert dataset.report.usable and len(dataset.train) == 2
    assert dataset.classes == {0: "강아지", 1: "고양이"}
    assert dataset.encodings["meta.csv"] == "utf-8"


def test_import_refuses_a_non_empty_output_folder_and_leaves_it_alone(tmp_path):
    src = tmp_path / "src"
    _image(src / "cat" / "a.png", (200, 0, 0))
    out = tmp_path / "project"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="output folder is not empty"):
        import_folder(src, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_import_an_empty_output_folder_is_fine(tmp_path):
    src = tmp_path / "src"
    _image(src / "cat" / "a.png", (200, 0, 0))
    (tmp_path / "project").mkdir()
    assert import_folder(src, tmp_path / "project").train_images == 1


def test_import_without_class_folders_is_refused(tmp_path):
    src = tmp_path / "src"
    _image(src / "a.png", (0, 0, 0))
    with pytest.raises(ValueError, match="no class subfolders with images found"):
        import_folder(src, tmp_path / "project")
    with pytest.raises(FileNotFoundError, match="source folder not found"):
        import_folder(tmp_path / "nope", tmp_path / "project")
    assert not (tmp_path / "project").exists()


def test_cli_import_folder_then_check(tmp_path, run_cli):
    src = tmp_path / "src"
    _image(src / "train" / "ant" / "0.png", (200, 0, 0))
    _image(src / "train" / "bee" / "0.png", (0, 200, 0))
    _image(src / "test" / "ant" / "t.png", (200, 0, 0))
    (src / "train" / "labels.txt").write_text("stray file")
    out = tmp_path / "project"
    code, stdout, stderr = run_cli(["import-folder", str(src), "--out", str(out)])
    assert code == 0
    lines = stdout.strip().splitlines()
    assert lines == ["imported 2 train images in 2 classes, 1 test images (labelled)", str(out.resolve())]
    assert "skipped (not a class folder of images): train/labels.txt" in stderr
    code, stdout, _ = run_cli(["check", "--project", str(out)])
    assert code == 0 and "Result: usable (0 warning(s))" in stdout


def test_a_test_folder_beside_flat_class_folders_is_named_not_silently_dropped(tmp_path, run_cli):
    src = tmp_path / "src"
    _image(src / "ant" / "0.png", (200, 0, 0))
    _image(src / "bee" / "0.png", (0, 200, 0))
    _image(src / "test" / "t.png", (0, 0, 200))
    code, stdout, stderr = run_cli(["import-folder", str(src), "--out", str(tmp_path / "project")])
    assert code == 0 and stdout.startswith("imported 2 train images in 2 classes\n")
    assert "skipped: test/ beside the class folders (move the classes under SRC/train/" in stderr
    assert import_folder(src, tmp_path / "again").skipped == ["test"]


@pytest.mark.parametrize("problem", ["not_empty", "out_is_a_file", "no_source", "no_classes"])
def test_cli_import_folder_errors_exit_1_without_a_traceback(tmp_path, run_cli, problem):
    src = tmp_path / "src"
    out = tmp_path / "project"
    if problem == "not_empty":
        _image(src / "cat" / "a.png", (200, 0, 0))
        out.mkdir()
        (out / "x").write_text("x")
    elif problem == "out_is_a_file":
        _image(src / "cat" / "a.png", (200, 0, 0))
        out.write_text("x")
    elif problem == "no_classes":
        src.mkdir()
    code, stdout, stderr = run_cli(["import-folder", str(src), "--out", str(out)])
    assert code == 1
    assert stderr.startswith("error: ") and "Traceback" not in stdout + stderr
    expected = {
        "not_empty": "output folder is not empty",
        "out_is_a_file": "exists and is not a folder",
        "no_source": "source folder not found",
        "no_classes": "no class subfolders",
    }
    assert expected[problem] in stderr


# --- demo --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "project"
    return build_demo(root, per_class=20)


def test_small_demo_passes_check_with_no_findings(small_demo):
    dataset = load_dataset(small_demo.root, workers=1)
    assert dataset.report.findings == []
    assert len(dataset.train) == small_demo.train_images
    assert len(dataset.test) == small_demo.test_images
    assert dataset.test_labels is not None and len(dataset.test_labels) == small_demo.test_images
    assert dataset.classes[0] == "zero" and dataset.num_classes == 10
    images = dataset.images
    assert (images["error"] == "").all()
    assert set(zip(images["width"], images["height"], images["mode"], strict=True)) == {(64, 64, "RGB")}


def test_small_demo_truth_file_matches_the_flips(small_demo):
    root = small_demo.root
    truth = pd.read_csv(root / TRUTH_FILE)
    train = pd.read_csv(root / "train.csv")
    assert list(truth.columns) == ["ID", "given_target", "true_target", "flipped"]
    assert truth["ID"].tolist() == train["ID"].tolist()
    assert truth["given_target"].tolist() == train["target"].tolist()
    assert truth["flipped"].tolist() == (truth["given_target"] != truth["true_target"]).tolist()
    assert int(truth["flipped"].sum()) == small_demo.flipped == round(len(train) * 0.06)
    assert small_demo.flipped > 0


def test_small_demo_is_imbalanced_and_its_images_are_rgb_64(small_demo):
    counts = small_demo.class_counts
    assert sum(counts.values()) == small_demo.train_images
    assert min(counts.values()) <= 0.6 * max(counts.values())
    some = sorted((small_demo.root / "train").iterdir())[:5] + sorted((small_demo.root / "test").iterdir())[:5]
    for path in some:
        with Image.open(path) as image:
            assert (image.mode, image.size) == ("RGB", (64, 64))


def test_demo_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "mine.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        build_demo(tmp_path / "demo", per_class=5)
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["mine.txt"]


def test_cli_demo_into_a_file_exits_1_without_a_traceback(tmp_path, run_cli):
    target = tmp_path / "demo"
    target.write_text("x")
    code, stdout, stderr = run_cli(["demo", "--out", str(target)])
    assert code == 1
    assert stderr == f"error: {target}: exists and is not a folder; choose a new folder for the demo project\n"
    assert target.read_text() == "x"


def test_cli_full_default_demo_then_check(tmp_path, run_cli):
    out = tmp_path / "demo"
    code, stdout, stderr = run_cli(["demo", "--out", str(out)])
    assert code == 0 and "Traceback" not in stderr
    assert stdout.strip().splitlines()[-1] == str(out.resolve())
    train = pd.read_csv(out / "train.csv")
    test = pd.read_csv(out / "sample_submission.csv")
    truth = pd.read_csv(out / TRUTH_FILE)
    assert len(train) >= 1200 and len(test) >= 500
    assert 0.04 <= truth["flipped"].mean() <= 0.08
    counts = train["target"].value_counts()
    assert counts.min() <= 0.6 * counts.max()
    assert f"demo project: {len(train)} train images ({int(truth['flipped'].sum())} labels flipped" in stdout

    code, stdout, _ = run_cli(["check", "--project", str(out)])
    assert code == 0
    assert f"train: {len(train):,} usable images" in stdout
    assert f"labelled test hold-out: {len(test):,} rows" in stdout
    assert "Result: usable (0 warning(s))" in stdout
    # The test images carry the noise the train images lack: more spread in brightness between images.
    rng = np.random.default_rng(0)
    means = {}
    for split, frame in (("train", train), ("test", test)):
        picks = rng.choice(frame["ID"].to_numpy(), size=60, replace=False)
        means[split] = np.std([np.asarray(Image.open(out / split / i), dtype=float).mean() for i in picks])
    assert means["test"] > 2 * means["train"]
