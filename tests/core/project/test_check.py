"""`workbench check` and core.project.dataset.load_dataset: every finding names what it is about, the rest stays usable.

The default project (conftest.build_project) has classes cat, dog, bird with 3 images each; train.csv
lists cat_0..cat_2 (rows 2-4), dog_0..dog_2 (rows 5-7), bird_0..bird_2 (rows 8-10), and 4 test images.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.project.checks import Finding
from core.project.dataset import Dataset, load_dataset

KOREAN = ("고양이", "강아지", "새")


# --- helpers -----------------------------------------------------------------------------------


def _train_lines(root: Path) -> list[str]:
    return root.joinpath("train.csv").read_text(encoding="utf-8").splitlines()


def _write_train(root: Path, lines: list[str]) -> None:
    root.joinpath("train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _set_label(root: Path, image_id: str, label: str) -> None:
    lines = [f"{image_id},{label}" if line.split(",")[0] == image_id else line for line in _train_lines(root)]
    _write_train(root, lines)


def _append_train(root: Path, *rows: str) -> None:
    _write_train(root, _train_lines(root) + list(rows))


def _load(root: Path) -> Dataset:
    return load_dataset(root, workers=1)


def _only(dataset: Dataset, code: str) -> Finding:
    found = [f for f in dataset.report.findings if f.code == code]
    assert len(found) == 1, f"expected one {code!r} finding, got {dataset.report.findings}"
    return found[0]


def _codes(dataset: Dataset) -> list[str]:
    return sorted(f.code for f in dataset.report.findings)


def _noise_image(size: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8), mode="RGB")


def _truncated(path: Path, fmt: str) -> None:
    _noise_image(96, seed=5).save(path, format=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _png_header_only(path: Path, width: int, height: int) -> None:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    path.write_bytes(body + chunk(b"IEND", b""))


def _user_files(root: Path) -> dict[str, tuple[int, int]]:
    """Everything outside .workbench/ with (size, mtime): what check must never touch."""
    return {
        str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in root.rglob("*")
        if ".workbench" not in p.relative_to(root).parts
    }


# --- the command -------------------------------------------------------------------------------


def test_check_a_good_project_exits_0_and_writes_only_inside_dot_workbench(tmp_path, make_project, run_cli):
    root = make_project(tmp_path)
    before = _user_files(root)
    code, out, err = run_cli(["check", "--project", str(root)])
    assert code == 0
    assert f"Project: {root.resolve()}" in out
    assert "train: 9 usable images" in out
    assert "test:  4 usable images" in out
    assert "classes: 3" in out
    assert out.rstrip().endswith("Result: usable (0 warning(s))")
    assert "Traceback" not in out + err
    assert _user_files(root) == before
    assert (root / ".workbench" / "cache" / "image_index.parquet").is_file()


def test_check_lists_warnings_and_still_exits_0(tmp_path, make_project, run_cli):
    root = make_project(tmp_path)
    _append_train(root, "ghost.png,1")
    Image.new("RGB", (32, 32)).save(root / "train" / "stray.png")
    code, out, err = run_cli(["check", "--project", str(root)])
    assert code == 0
    assert "WARNING train.csv: 1 ID(s) have no image file under train/; excluded: ghost.png" in out
    assert "WARNING train/: 1 image file(s) are not in train.csv and are ignored: stray.png" in out
    assert "train: 9 usable images" in out
    assert out.rstrip().endswith("Result: usable (2 warning(s))")
    assert "Traceback" not in out + err


def _no_train_csv(root: Path) -> None:
    (root / "train.csv").unlink()


def _no_target_column(root: Path) -> None:
    _write_train(root, ["ID,label"] + _train_lines(root)[1:])


def _empty_train_csv(root: Path) -> None:
    (root / "train.csv").write_bytes(b"")


def _header_only(root: Path) -> None:
    _write_train(root, ["ID,target"])


def _no_train_folder(root: Path) -> None:
    shutil.rmtree(root / "train")


def _no_usable_row(root: Path) -> None:
    _write_train(root, ["ID,target", "ghost.png,0", "cat_0.png,cat"])


def _bad_toml(root: Path) -> None:
    (root / "workbench.toml").write_text('train_file = "labels.csv"\n')


def _wrong_type_in_toml(root: Path) -> None:
    (root / "workbench.toml").write_text('max_image_pixels = "big"\n')


def _unknown_encoding(root: Path) -> None:
    (root / "workbench.toml").write_text('encoding = "no-such-codec"\n')


UNUSABLE = [
    (_no_train_csv, "ERROR   {root}/train.csv: file not found"),
    (_no_target_column, "ERROR   {root}/train.csv: missing column(s) target; found ID, label"),
    (_empty_train_csv, "ERROR   {root}/train.csv: the file is empty"),
    (_header_only, "ERROR   train.csv: has a header but no rows"),
    (_no_train_folder, "ERROR   train/: image folder not found in {root}"),
    (_no_usable_row, "ERROR   train.csv: no usable train row remains"),
    (_bad_toml, "ERROR   {root}/workbench.toml: unknown setting(s) train_file; known: "),
    (_wrong_type_in_toml, "ERROR   {root}/workbench.toml: max_image_pixels must be a int, got 'big'"),
    (_unknown_encoding, "ERROR   {root}/train.csv: cannot be decoded as 'no-such-codec' (set in workbench.toml)"),
]


@pytest.mark.parametrize("damage, expected", UNUSABLE, ids=[damage.__name__.lstrip("_") for damage, _ in UNUSABLE])
def test_check_an_unusable_project_exits_1_and_says_why(tmp_path, make_project, run_cli, damage, expected):
    root = make_project(tmp_path)
    damage(root)
    code, out, err = run_cli(["check", "--project", str(root)])
    assert code == 1
    assert expected.format(root=root.resolve()) in out
    assert "Result: NOT usable" in out and "fix the errors above" in out
    assert "Traceback" not in out + err


def test_check_a_folder_that_does_not_exist_exits_1(tmp_path, run_cli):
    missing = tmp_path / "no-such-project"
    code, out, err = run_cli(["check", "--project", str(missing)])
    assert code == 1
    assert f"ERROR   {missing}: folder not found" in out
    assert "Result: NOT usable (1 error(s))" in out
    assert "Traceback" not in out + err
    assert not missing.exists()


def test_check_a_file_instead_of_a_folder_exits_1(tmp_path, run_cli):
    path = tmp_path / "train.csv"
    path.write_text("ID,target\n")
    code, out, _ = run_cli(["check", "--project", str(path)])
    assert code == 1
    assert f"{path}: not a folder" in out


def test_missing_train_folder_names_every_row_and_creates_nothing(tmp_path, make_project):
    root = make_project(tmp_path)
    shutil.rmtree(root / "train")
    dataset = _load(root)
    assert not dataset.report.usable
    assert _only(dataset, "missing_folder").level == "error"
    missing = _only(dataset, "missing_image")
    assert len(missing.items) == 9 and "cat_0.png" in missing.message
    assert not (root / "train").exists()


# --- rows --------------------------------------------------------------------------------------


def test_duplicate_id_keeps_the_first_row_and_names_the_id(tmp_path, make_project):
    root = make_project(tmp_path)
    _append_train(root, "cat_0.png,2", "dog_1.png,1")
    dataset = _load(root)
    finding = _only(dataset, "duplicate_id")
    assert finding.level == "warning" and finding.file == "train.csv"
    assert finding.items == ("cat_0.png", "dog_1.png")
    assert "train.csv: 2 ID(s) appear more than once; the first row of each is used: cat_0.png, dog_1.png" in (
        finding.message
    )
    assert len(dataset.train) == 9
    assert dataset.train.set_index("ID").loc["cat_0.png", "target"] == 0
    assert dataset.report.usable


def test_duplicate_test_ids_are_named(tmp_path, make_project):
    root = make_project(tmp_path)
    with (root / "sample_submission.csv").open("a") as handle:
        handle.write("test_2.png,0\n")
    dataset = _load(root)
    finding = _only(dataset, "duplicate_id")
    assert finding.file == "sample_submission.csv" and finding.items == ("test_2.png",)
    assert len(dataset.test) == 4


def test_ids_without_an_image_are_named_and_the_rest_used(tmp_path, make_project):
    root = make_project(tmp_path)
    (root / "train" / "dog_2.png").unlink()
    _append_train(root, "ghost.png,1")
    dataset = _load(root)
    finding = _only(dataset, "missing_image")
    assert finding.level == "warning" and finding.items == ("dog_2.png", "ghost.png")
    assert "train.csv: 2 ID(s) have no image file under train/; excluded: dog_2.png, ghost.png" in finding.message
    assert len(dataset.train) == 8 and "dog_2.png" not in set(dataset.train["ID"])
    assert dataset.report.usable


def test_image_files_not_in_the_csv_are_named_and_ignored(tmp_path, make_project):
    root = make_project(tmp_path)
    Image.new("RGB", (32, 32)).save(root / "train" / "stray.png")
    (root / "train" / "extra").mkdir()
    Image.new("RGB", (32, 32)).save(root / "train" / "extra" / "nested.jpg")
    Image.new("RGB", (32, 32)).save(root / "test" / "unlisted_test.png")
    dataset = _load(root)
    found = {f.file: f for f in dataset.report.findings if f.code == "unlisted_image"}
    assert found["train"].items == ("extra/nested.jpg", "stray.png")
    assert "train/: 2 image file(s) are not in train.csv and are ignored: extra/nested.jpg, stray.png" in (
        found["train"].message
    )
    assert found["test"].items == ("unlisted_test.png",)
    assert "stray.png" not in set(dataset.train["ID"])
    assert len(dataset.train) == 9 and len(dataset.test) == 4


def test_images_in_subfolders_are_found_by_relative_id(tmp_path, make_project):
    root = make_project(tmp_path)
    (root / "train" / "extra").mkdir()
    Image.new("RGB", (32, 32)).save(root / "train" / "extra" / "nested.png")
    _append_train(root, "extra/nested.png,1")
    dataset = _load(root)
    assert _codes(dataset) == []
    assert dataset.train.set_index("ID").loc["extra/nested.png", "path"] == str(
        (root / "train" / "extra" / "nested.png").resolve()
    )


def test_labels_that_are_not_integers_are_named_with_their_rows(tmp_path, make_project):
    root = make_project(tmp_path)
    _set_label(root, "cat_1.png", "cat")  # row 3
    _set_label(root, "dog_0.png", "1.5")  # row 5
    _set_label(root, "bird_1.png", "inf")  # row 9
    _set_label(root, "bird_2.png", "")  # row 10
    dataset = _load(root)
    finding = _only(dataset, "label_not_integer")
    assert finding.level == "warning" and finding.file == "train.csv"
    assert finding.items == ("3", "5", "9", "10")
    assert (
        "train.csv: 4 label(s) in column 'target' are not integers; rows excluded: "
        "row 3: 'cat', row 5: '1.5', row 9: 'inf', row 10: ''"
    ) in finding.message
    assert sorted(dataset.train["ID"]) == ["bird_0.png", "cat_0.png", "cat_2.png", "dog_1.png", "dog_2.png"]
    # The excluded rows' images are in train.csv: they are not also reported as files missing from it.
    assert "unlisted_image" not in _codes(dataset)
    assert dataset.report.usable


@pytest.mark.parametrize("label", ["1e30", "-inf", "nan", "99999999999999999999"])
def test_absurd_numeric_labels_are_rows_excluded_not_a_crash(tmp_path, make_project, label):
    root = make_project(tmp_path, meta=False)
    _set_label(root, "dog_0.png", label)
    dataset = _load(root)
    assert _only(dataset, "label_not_integer").items == ("5",)
    assert dataset.classes == {0: "0", 1: "1", 2: "2"}
    assert len(dataset.train) == 8


def test_labels_written_as_whole_floats_are_accepted(tmp_path, make_project):
    root = make_project(tmp_path)
    _set_label(root, "dog_0.png", "1.0")
    dataset = _load(root)
    assert _codes(dataset) == []
    assert dataset.train.set_index("ID").loc["dog_0.png", "target"] == 1


def test_labels_not_in_meta_are_named_with_rows_and_ids(tmp_path, make_project):
    root = make_project(tmp_path)
    _set_label(root, "dog_2.png", "7")  # row 7
    _set_label(root, "bird_0.png", "3")  # row 8
    dataset = _load(root)
    finding = _only(dataset, "label_not_in_meta")
    assert finding.level == "warning" and finding.items == ("7", "8")
    assert "train.csv: 2 row(s) have labels not in meta.csv (3, 7); excluded" in finding.message
    assert "row 7: dog_2.png -> 7" in finding.message and "row 8: bird_0.png -> 3" in finding.message
    assert len(dataset.train) == 7 and set(dataset.train["target"]) == {0, 1, 2}
    assert dataset.report.usable


def test_a_class_left_without_images_is_named(tmp_path, make_project):
    root = make_project(tmp_path)
    _write_train(root, [line for line in _train_lines(root) if not line.startswith("bird_")])
    dataset = _load(root)
    assert "1 class(es) have no usable train image: 2 (bird)" in _only(dataset, "class_without_images").message


def test_empty_ids_are_named_by_row(tmp_path, make_project):
    root = make_project(tmp_path)
    _append_train(root, ",1", " ,2")  # rows 11 and 12
    dataset = _load(root)
    finding = _only(dataset, "empty_id")
    assert finding.items == ("11", "12")
    assert "train.csv: 2 row(s) have an empty ID; excluded: rows 11, 12" in finding.message
    assert "duplicate_id" not in _codes(dataset) and "path_escape" not in _codes(dataset)
    assert len(dataset.train) == 9


def test_without_meta_classes_are_inferred_and_negative_labels_named(tmp_path, make_project):
    root = make_project(tmp_path, meta=False)
    _set_label(root, "cat_2.png", "-1")  # row 4
    dataset = _load(root)
    assert dataset.classes == {0: "0", 1: "1", 2: "2"}
    assert "no meta.csv: 3 classes (0..2) inferred from the train labels" in _only(dataset, "no_meta").message
    assert _only(dataset, "no_meta").level == "info"
    assert "train.csv: 1 negative label(s) excluded (rows 4)" in _only(dataset, "label_negative").message
    assert len(dataset.train) == 8


def test_meta_with_gaps_in_its_targets_is_named(tmp_path, make_project):
    root = make_project(tmp_path)
    (root / "meta.csv").write_text("target,class_name\n0,cat\n1,dog\n5,bird\n")
    dataset = _load(root)
    assert "meta.csv: targets should be 0..2; found 0, 1, 5" in _only(dataset, "meta_targets").message
    assert "row 8: bird_0.png -> 2" in _only(dataset, "label_not_in_meta").message


def test_missing_sample_submission_is_a_warning(tmp_path, make_project, run_cli):
    root = make_project(tmp_path)
    (root / "sample_submission.csv").unlink()
    code, out, _ = run_cli(["check", "--project", str(root)])
    assert code == 0
    assert "WARNING sample_submission.csv not found: no test set" in out
    assert "test:  0 usable images" in out


def test_missing_test_folder_is_a_warning_naming_the_test_ids(tmp_path, make_project):
    root = make_project(tmp_path)
    shutil.rmtree(root / "test")
    dataset = _load(root)
    assert dataset.report.usable and len(dataset.train) == 9
    assert _only(dataset, "missing_folder").level == "warning"
    assert _only(dataset, "missing_image").items == ("test_0.png", "test_1.png", "test_2.png", "test_3.png")


def test_test_labels_hold_out_with_unknown_ids(tmp_path, make_project, run_cli):
    root = make_project(tmp_path)
    (root / "test_labels.csv").write_text("ID,target\ntest_0.png,0\ntest_1.png,1\ntest_2.png,2\nzzz.png,1\n")
    dataset = _load(root)
    finding = _only(dataset, "unknown_id")
    assert finding.items == ("zzz.png",) and "test_labels.csv" in finding.message and "zzz.png" in finding.message
    assert dataset.test_labels.to_dict("list") == {
        "ID": ["test_0.png", "test_1.png", "test_2.png"],
        "target": [0, 1, 2],
    }
    _, out, _ = run_cli(["check", "--project", str(root)])
    assert "labelled test hold-out: 3 rows (test metrics enabled)" in out


def test_test_labels_that_are_not_classes_are_named_and_left_out(tmp_path, make_project, run_cli):
    """A hold-out label outside the project's classes would fail every test metric of every run."""
    root = make_project(tmp_path)  # classes 0..2
    (root / "test_labels.csv").write_text("ID,target\ntest_0.png,0\ntest_1.png,3\ntest_2.png,2\n")
    dataset = _load(root)
    finding = _only(dataset, "label_not_a_class")
    assert finding.level == "warning" and finding.items == ("3",)
    assert "row 3: test_1.png -> 3" in finding.message and "(0..2)" in finding.message
    assert dataset.test_labels.to_dict("list") == {"ID": ["test_0.png", "test_2.png"], "target": [0, 2]}
    _, out, _ = run_cli(["check", "--project", str(root)])
    assert "labelled test hold-out: 2 rows (test metrics enabled)" in out


# --- paths that leave the project ---------------------------------------------------------------


def test_ids_that_escape_the_project_are_rejected_named_and_never_read(tmp_path, make_project, decoded):
    root = make_project(tmp_path)
    _noise_image(32).save(root / "outside.png")  # in the project, but not under train/
    outside = tmp_path / "elsewhere.png"
    _noise_image(32).save(outside)
    os.symlink(outside, root / "train" / "link.png")
    _append_train(root, "../outside.png,0", "../../elsewhere.png,0", "/etc/passwd,1", "link.png,2")
    dataset = _load(root)
    finding = _only(dataset, "path_escape")
    assert finding.level == "warning" and finding.file == "train.csv"
    assert finding.items == ("../outside.png", "../../elsewhere.png", "/etc/passwd", "link.png")
    assert "train.csv: 4 ID(s) resolve outside the project" in finding.message
    assert "rejected: ../outside.png, ../../elsewhere.png, /etc/passwd, link.png" in finding.message
    assert "missing_image" not in _codes(dataset)
    assert len(dataset.train) == 9 and dataset.report.usable
    # The index never opened the file the symlink points at, and made no thumbnail of it.
    link = dataset.images.set_index("name").loc["link.png"]
    assert "outside the project" in link["error"] and link["thumb"] == ""
    assert not {"link.png", "outside.png", "elsewhere.png", "passwd"} & set(decoded)


def test_a_symlink_out_that_is_not_in_the_csv_is_still_not_read(tmp_path, make_project, decoded):
    root = make_project(tmp_path)
    outside = tmp_path / "secret.png"
    _noise_image(32).save(outside)
    os.symlink(outside, root / "train" / "peek.png")
    dataset = _load(root)
    assert _only(dataset, "unlisted_image").items == ("peek.png",)
    assert "peek.png" not in decoded


def test_a_symlink_to_another_folder_of_the_project_is_allowed(tmp_path, make_project):
    root = make_project(tmp_path)
    (root / "extra_images").mkdir()
    _noise_image(32).save(root / "extra_images" / "x.png")
    os.symlink(root / "extra_images" / "x.png", root / "train" / "x.png")
    _append_train(root, "x.png,1")
    dataset = _load(root)
    assert _codes(dataset) == []
    assert dataset.train.set_index("ID").loc["x.png", "path"] == str((root / "extra_images" / "x.png").resolve())


def test_a_symlinked_train_folder_on_a_data_disk_is_allowed_with_allow_outside(tmp_path, make_project):
    root = make_project(tmp_path)
    disk = tmp_path / "data-disk" / "competition" / "train_images"
    disk.parent.mkdir(parents=True)
    shutil.move(root / "train", disk)
    os.symlink(disk, root / "train", target_is_directory=True)
    os.symlink(disk / "cat_0.png", disk / "alias.png")  # a link that stays on the disk folder
    (root / "workbench.toml").write_text("allow_outside = true\n")  # without it: refused (test_hostile_files)
    _append_train(root, "alias.png,0")
    dataset = _load(root)
    assert _codes(dataset) == ["outside_project"]
    assert len(dataset.train) == 10 and dataset.report.usable
    paths = dataset.train.set_index("ID")["path"]
    assert paths["dog_1.png"] == str(disk.resolve() / "dog_1.png")
    assert paths["alias.png"] == str(disk.resolve() / "cat_0.png")
    # ...while an ID climbing out of the linked folder is still refused.
    _append_train(root, "../../secret.png,0")
    (tmp_path / "data-disk" / "secret.png").write_bytes(b"x")
    assert _only(_load(root), "path_escape").items == ("../../secret.png",)


# --- images that cannot be used ----------------------------------------------------------------


def test_corrupt_and_truncated_images_are_named_excluded_and_the_rest_usable(tmp_path, make_project, run_cli):
    root = make_project(tmp_path)
    train = root / "train"
    (train / "noise.jpg").write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    _truncated(train / "cut.jpg", "JPEG")
    _truncated(train / "cut.png", "PNG")
    _append_train(root, "noise.jpg,0", "cut.jpg,1", "cut.png,2")
    dataset = _load(root)
    finding = _only(dataset, "corrupt_image")
    assert finding.level == "warning" and finding.file == "train"
    assert "3 train image(s) cannot be used and are excluded" in finding.message
    assert [item.split(":")[0] for item in finding.items] == ["train/noise.jpg", "train/cut.jpg", "train/cut.png"]
    assert "not a readable image" in finding.items[0]
    assert "truncated" in finding.items[1] and "truncated" in finding.items[2]
    assert len(dataset.train) == 9 and dataset.report.usable
    assert not {"noise.jpg", "cut.jpg", "cut.png"} & set(dataset.train["ID"])

    code, out, err = run_cli(["check", "--project", str(root)])
    assert code == 0
    assert "train/noise.jpg" in out and "train/cut.jpg" in out and "train/cut.png" in out
    assert "train: 9 usable images" in out
    assert "Traceback" not in out + err


def test_a_corrupt_test_image_is_named(tmp_path, make_project):
    root = make_project(tmp_path)
    (root / "test" / "test_1.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    dataset = _load(root)
    finding = _only(dataset, "corrupt_image")
    assert finding.file == "test" and finding.items[0].startswith("test/test_1.png: ")
    assert "1 test image(s) cannot be used" in finding.message
    assert sorted(dataset.test["ID"]) == ["test_0.png", "test_2.png", "test_3.png"]


def test_oversized_images_are_refused_by_the_project_limit_without_decoding(tmp_path, make_project, decoded):
    root = make_project(tmp_path)
    (root / "workbench.toml").write_text("max_image_pixels = 2000\n")  # 32x32 = 1,024 passes
    _noise_image(64).save(root / "train" / "big.png")
    _png_header_only(root / "train" / "bomb.png", 30_000, 30_000)
    _append_train(root, "big.png,0", "bomb.png,1")
    dataset = _load(root)
    finding = _only(dataset, "corrupt_image")
    big, bomb = finding.items
    assert big == (
        "train/big.png: 64x64 = 4,096 pixels exceeds the limit of 2,000 "
        "(possible decompression bomb; refused without decoding)"
    )
    assert bomb.startswith("train/bomb.png: ") and "decompression bomb" in bomb
    assert "big.png" not in decoded and "bomb.png" not in decoded
    assert len(dataset.train) == 9 and dataset.report.usable


def test_a_bomb_at_the_default_limit_is_refused(tmp_path, make_project, decoded, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # only our own limit stands
    root = make_project(tmp_path)
    _png_header_only(root / "train" / "bomb.png", 30_000, 30_000)
    _append_train(root, "bomb.png,1")
    dataset = _load(root)
    assert _only(dataset, "corrupt_image").items == (
        "train/bomb.png: 30000x30000 = 900,000,000 pixels exceeds the limit of 50,000,000 "
        "(possible decompression bomb; refused without decoding)",
    )
    assert "bomb.png" not in decoded


def test_the_index_reports_the_upright_size_of_a_rotated_jpeg(tmp_path, make_project):
    root = make_project(tmp_path)
    stored = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(root / "train" / "rotated.jpg", exif=exif.tobytes())
    _append_train(root, "rotated.jpg,1")
    dataset = _load(root)
    row = dataset.images.set_index("name").loc["rotated.jpg"]
    assert (row["width"], row["height"], row["error"]) == (20, 40, "")
    assert "rotated.jpg" in set(dataset.train["ID"])


# --- encodings ---------------------------------------------------------------------------------


def _korean_meta(root: Path, encoding: str) -> None:
    text = "target,class_name\n" + "".join(f"{t},{name}\n" for t, name in enumerate(KOREAN))
    (root / "meta.csv").write_bytes(text.encode(encoding))


def test_cp949_meta_is_read_and_reported_by_encoding(tmp_path, make_project, run_cli):
    root = make_project(tmp_path)
    _korean_meta(root, "cp949")
    dataset = _load(root)
    assert dataset.classes == {0: "고양이", 1: "강아지", 2: "새"}
    finding = _only(dataset, "encoding")
    assert finding.level == "warning" and finding.file == "meta.csv"
    assert finding.message.startswith("meta.csv: not UTF-8; read as cp949.")
    assert dataset.encodings == {"meta.csv": "cp949", "train.csv": "utf-8", "sample_submission.csv": "utf-8"}
    assert dataset.report.usable and len(dataset.train) == 9
    code, out, _ = run_cli(["check", "--project", str(root)])
    assert code == 0 and "WARNING meta.csv: not UTF-8; read as cp949" in out


def test_encoding_set_in_workbench_toml_is_used_without_a_warning(tmp_path, make_project):
    root = make_project(tmp_path)
    _korean_meta(root, "cp949")
    (root / "workbench.toml").write_text('encoding = "cp949"\n')
    dataset = _load(root)
    assert dataset.classes == {0: "고양이", 1: "강아지", 2: "새"}
    assert _codes(dataset) == []
    assert set(dataset.encodings.values()) == {"cp949"}


def test_project_settings_in_a_project_table_rename_files_and_columns(tmp_path, make_project):
    root = make_project(tmp_path)
    lines = _train_lines(root)
    (root / "train.csv").unlink()
    (root / "labels.csv").write_text("\n".join(["file,label"] + lines[1:]) + "\n")
    settings = '[project]\ntrain_csv = "labels.csv"\nid_column = "file"\ntarget_column = "label"\n'
    (root / "workbench.toml").write_text(settings)
    (root / "meta.csv").write_text("label,class_name\n0,cat\n1,dog\n2,bird\n")
    (root / "sample_submission.csv").write_text("file,label\n" + "".join(f"test_{n}.png,0\n" for n in range(4)))
    dataset = _load(root)
    assert _codes(dataset) == []
    assert len(dataset.train) == 9 and list(dataset.train.columns) == ["ID", "target", "path"]


def test_bom_crlf_and_korean_utf8_csvs_are_read(tmp_path, make_project):
    root = make_project(tmp_path)
    crlf = "\r\n".join(_train_lines(root)) + "\r\n"
    (root / "train.csv").write_bytes(b"\xef\xbb\xbf" + crlf.encode())
    _korean_meta(root, "utf-8-sig")
    dataset = _load(root)
    assert _codes(dataset) == []
    assert len(dataset.train) == 9
    assert dataset.classes == {0: "고양이", 1: "강아지", 2: "새"}
    assert dataset.train["ID"].str.contains("\r").sum() == 0
