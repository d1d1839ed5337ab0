"""The training run (core.training and its pieces) on the demo project, small enough for two CPU cores.

A timm test model (test_efficientnet, ~100k parameters), 32x32 images, 2 folds, 1-2 epochs, no
loader workers. The run goes through the job entry point (core.runs.entry.main) as a real job does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.config import resolve_config
from core.project.layout import open_layout
from core.runs.entry import main as train_main
from core.runs.folder import create_run, prob_columns, read_events, read_status
from core.runs.inputs import prepare_inputs
from core.runs.progress import Callbacks

MODEL = "test_efficientnet"
NUM_CLASSES = 10  # the demo's digits
BASE = [
    f"model.name={MODEL}",
    "model.pretrained=none",
    "data.image_size=32",
    "data.folds=2",
    "data.num_workers=0",
    "train.epochs=2",
    "train.batch_size=16",
    "train.device=cpu",
    "train.patience=0",
    "train.tta=flips",
]
PROBS = prob_columns(NUM_CLASSES)


class Recorder(Callbacks):
    """Keeps every callback call, for assertions."""

    def __init__(self) -> None:
        self.progress: list[dict] = []
        self.epochs: list[dict] = []
        self.fold_ends: list[dict] = []
        self.messages: list[str] = []

    def on_progress(self, *, progress: float, message: str = "", **where) -> None:
        self.progress.append({"progress": progress, "message": message, **where})

    def on_epoch(self, *, fold: int, epoch: int, metrics: dict[str, float]) -> None:
        self.epochs.append({"fold": fold, "epoch": epoch, **metrics})

    def on_fold_end(self, *, fold: int, metrics: dict[str, float]) -> None:
        self.fold_ends.append({"fold": fold, **metrics})

    def on_message(self, text: str) -> None:
        self.messages.append(text)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a busy 2-core machine, torch's threads spin against each other
    (a forward pass is ~5x slower with 2 threads than with 1)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project, small: ~62 train images (8 per large class), ~50 test images, 64x64."""
    from core.project.demo import build_demo

    root = tmp_path_factory.mktemp("fit") / "demo"
    build_demo(root, per_class=8, test_fraction=0.03)
    return root


def new_run(demo: Path, *overrides: str) -> Path:
    config = resolve_config(kind="train", overrides=[*BASE, *overrides])
    return create_run(open_layout(demo), config)


def run_job(run_dir: Path) -> dict:
    """The job entry point, in this process; returns the final status.json."""
    train_main(["--config", str(run_dir / "config.yaml")])
    return read_status(run_dir)


@pytest.fixture(scope="module")
def finished_run(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as patch:  # module scope: the per-test WORKBENCH_HOME is not set yet
        patch.setenv("WORKBENCH_HOME", str(tmp_path_factory.mktemp("home")))
        run_dir = new_run(demo)
        status = run_job(run_dir)
    assert status["state"] == "succeeded", status.get("traceback", status.get("message"))
    return run_dir


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"ID": str})


# ---------------------------------------------------------------- a whole run through the job entry point


def test_run_succeeds_and_writes_every_artifact_well_formed(demo: Path, finished_run: Path):
    status = read_status(finished_run)
    assert status["state"] == "succeeded" and status["progress"] == 1.0
    assert 0.0 <= status["metrics"]["oof_macro_f1"] <= 1.0 and "test_macro_f1" in status["metrics"]

    train = _csv(demo / "train.csv")
    test_ids = _csv(demo / "sample_submission.csv")["ID"].tolist()
    oof = _csv(finished_run / "oof.csv")
    assert list(oof.columns) == ["ID", "fold", "given", "predicted", *PROBS]
    assert sorted(oof["ID"]) == sorted(train["ID"])  # 2 folds: every train row validated once
    assert set(oof["fold"]) == {0, 1}
    assert (oof.set_index("ID")["given"] == train.set_index("ID")["target"]).all()
    np.testing.assert_allclose(oof[PROBS].sum(axis=1), 1.0, atol=1e-4)
    assert (oof["predicted"] == oof[PROBS].to_numpy().argmax(axis=1)).all()

    test_probs = _csv(finished_run / "test_probs.csv")
    assert list(test_probs.columns) == ["ID", *PROBS] and test_probs["ID"].tolist() == test_ids
    np.testing.assert_allclose(test_probs[PROBS].sum(axis=1), 1.0, atol=1e-4)
    submission = _csv(finished_run / "submission.csv")
    assert list(submission.columns) == ["ID", "target"] and submission["ID"].tolist() == test_ids
    assert (submission["target"] == test_probs[PROBS].to_numpy().argmax(axis=1)).all()

    embeddings = np.load(finished_run / "embeddings.npy")
    embedding_ids = _csv(finished_run / "embeddings_ids.csv")
    assert embeddings.shape[0] == len(train) + len(test_ids) == len(embedding_ids)
    assert embeddings.dtype == np.float32 and np.isfinite(embeddings).all() and embeddings.std() > 0
    assert embedding_ids["ID"].tolist() == train["ID"].tolist() + test_ids
    assert embedding_ids["split"].value_counts().to_dict() == {"train": len(train), "test": len(test_ids)}


def test_events_hold_every_epoch_and_fold_with_the_documented_metrics(finished_run: Path):
    epochs = read_events(finished_run, kinds=("epoch",))
    assert [(e["fold"], e["epoch"]) for e in epochs] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for event in epochs:
        for key in ("train_loss", "val_loss", "val_acc", "val_f1", "lr"):
            assert np.isfinite(event[key]), key
        assert 0 <= event["val_f1"] <= 1 and 0 <= event["val_acc"] <= 1
    ends = read_events(finished_run, kinds=("fold_end",))
    assert [e["fold"] for e in ends] == [0, 1] and all(e["epochs_run"] == 2 for e in ends)
    progress = [e["progress"] for e in read_events(finished_run, kinds=("progress",))]
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_fold_weights_load_into_a_fresh_model_and_reproduce_its_oof_probabilities(demo: Path, finished_run: Path):
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    from core.models.factory import create_model, normalisation
    from core.training.data import ImageDataset, create_loader
    from core.training.loop import predict
    from core.training.runtime import Runtime
    from core.training.transforms import create_eval_transform

    for fold in (0, 1):
        path = finished_run / "weights" / f"fold{fold}.safetensors"
        model = create_model(MODEL, pretrained="none", num_classes=NUM_CLASSES)
        model.load_state_dict(load_file(str(path)), strict=True)
        with safe_open(str(path), framework="pt") as handle:
            assert handle.metadata()["model"] == MODEL
            assert handle.metadata()["image_size"] == "32"  # the scan's key; "size" before
    # The last model loaded (fold 1) gives the oof rows of fold 1: the saved weights are the best epoch's.
    oof = _csv(finished_run / "oof.csv")
    rows = oof[oof["fold"] == 1]
    mean, std = normalisation("none", model)
    dataset = ImageDataset(
        [demo / "train" / i for i in rows["ID"]], transform=create_eval_transform(image_size=32, mean=mean, std=std)
    )
    loader = create_loader(dataset, batch_size=32, num_workers=0, pin_memory=False, seed=0)
    probs = predict(model, loader, runtime=Runtime(device=torch.device("cpu")))
    np.testing.assert_allclose(probs, rows[PROBS].to_numpy(), atol=1e-4)


def test_two_identical_runs_write_identical_predictions(demo: Path, finished_run: Path):
    again = new_run(demo)
    assert run_job(again)["state"] == "succeeded"
    for name in ("oof.csv", "test_probs.csv"):
        assert (again / name).read_text() == (finished_run / name).read_text(), name
    np.testing.assert_array_equal(np.load(again / "embeddings.npy"), np.load(finished_run / "embeddings.npy"))


def test_runs_with_loader_workers_are_reproducible_too(demo: Path):
    """Workers reseed their copy of the noise pipeline from the loader's seeded generator."""
    overrides = ("data.num_workers=2", "data.folds=1", "train.epochs=1", "train.max_train_batches=3")
    first, second = new_run(demo, *overrides), new_run(demo, *overrides)
    assert run_job(first)["state"] == "succeeded" and run_job(second)["state"] == "succeeded"
    assert (first / "oof.csv").read_text() == (second / "oof.csv").read_text()


def test_loader_workers_draw_different_noise_for_the_same_image(demo: Path):
    from core.training.data import ImageDataset, create_loader
    from core.training.transforms import create_train_transform

    transform = create_train_transform(
        recipe="default", recipes_dir=demo, image_size=32, mean=(0.5,) * 3, std=(0.5,) * 3, seed=0
    )
    image = next((demo / "train").iterdir())
    dataset = ImageDataset([image] * 8, transform=transform)
    batches = [x for x, _ in create_loader(dataset, batch_size=1, num_workers=2, pin_memory=False, seed=0)]
    assert len({b.numpy().tobytes() for b in batches}) == 8  # batch i comes from worker i % 2


# ---------------------------------------------------------------- losses, sampler, Mixup/CutMix: one tiny epoch each


@pytest.mark.parametrize(
    "overrides",
    [
        ["train.loss=cross_entropy"],
        ["train.loss=label_smoothing"],
        ["train.loss=weighted_cross_entropy"],
        ["train.loss=focal", "train.focal_gamma=2"],
        ["train.loss=asymmetric"],
        ["train.sampler=weighted"],
        ["aug.mixup_alpha=0.4", "train.loss=label_smoothing"],
        ["aug.cutmix_alpha=1.0", "train.loss=focal"],
        ["aug.mixup_alpha=0.2", "aug.cutmix_alpha=1.0", "train.loss=weighted_cross_entropy", "aug.recipe=none"],
    ],
    ids=lambda o: ",".join(x.split(".", 1)[1] for x in o),
)
def test_each_loss_sampler_and_mix_trains_one_tiny_epoch(demo: Path, overrides: list[str]):
    from core.training.run import run_training

    run_dir = new_run(demo, "data.folds=1", "train.epochs=1", "train.max_train_batches=2", "train.tta=none", *overrides)
    inputs = prepare_inputs(run_dir, resolve_config(file=run_dir / "config.yaml"))
    recorder = Recorder()
    run_training(inputs, recorder)

    [epoch] = recorder.epochs
    assert np.isfinite(epoch["train_loss"]) and epoch["train_loss"] > 0
    steps = {p["steps"] for p in recorder.progress if "steps" in p}
    assert steps == {2}  # max_train_batches caps the epoch
    oof = _csv(run_dir / "oof.csv")  # data.folds=1: the stratified 20% hold-out only
    assert set(oof["fold"]) == {0} and 0.15 * len(inputs.train) <= len(oof) <= 0.3 * len(inputs.train)
    assert (run_dir / "weights" / "fold0.safetensors").is_file() and (run_dir / "submission.csv").is_file()


def test_asymmetric_loss_with_mixup_is_refused_naming_the_keys():
    from core.training.losses import create_loss

    with pytest.raises(ValueError, match="aug.mixup_alpha=0"):
        create_loss("asymmetric", num_classes=3, soft_targets=True)


def test_focal_loss_with_gamma_zero_is_cross_entropy_and_takes_soft_targets():
    import torch
    import torch.nn.functional as F

    from core.training.losses import FocalLoss

    logits, target = torch.randn(8, 5, generator=torch.Generator().manual_seed(0)), torch.arange(8) % 5
    torch.testing.assert_close(FocalLoss(0.0)(logits, target), F.cross_entropy(logits, target))
    soft = F.one_hot(target, 5).float()
    torch.testing.assert_close(FocalLoss(2.0)(logits, soft), FocalLoss(2.0)(logits, target))
    assert FocalLoss(2.0)(logits, target) < FocalLoss(0.0)(logits, target)  # easy rows count less


# ---------------------------------------------------------------- class weights, recipes


def test_class_weights_are_inverse_frequencies_and_zero_for_an_absent_class():
    # The folds (shared with the scan) are tested in tests/core/runs/test_folds.py.
    from core.training.data import inverse_frequency

    labels = np.repeat([0, 1, 2], [50, 30, 20])
    np.testing.assert_allclose(inverse_frequency(labels, num_classes=4), [100 / 150, 100 / 90, 100 / 60, 0.0])


def test_a_missing_recipe_fails_the_run_naming_the_file(demo: Path):
    run_dir = new_run(demo, "aug.recipe=salt_and_pepper", "data.folds=1", "train.epochs=1")
    status = run_job(run_dir)
    assert status["state"] == "failed"
    expected = demo / ".workbench" / "recipes" / "salt_and_pepper.yaml"
    assert str(expected) in status["message"] and "not found" in status["message"]


@pytest.mark.filterwarnings("ignore:Transform NoSuchTransform")
def test_saved_recipes_load_and_invalid_ones_are_named(tmp_path: Path):
    import albumentations as A

    from core.training.transforms import RecipeError, create_train_transform

    recipes = tmp_path / "recipes"
    recipes.mkdir()
    A.save(A.Compose([A.HorizontalFlip(p=1.0)]), str(recipes / "mirror.yaml"), data_format="yaml")
    (recipes / "broken.yaml").write_text("transform: {__class_fullname__: NoSuchTransform}\n")
    image = np.zeros((40, 50, 3), dtype=np.uint8)
    image[:, :10] = 255
    transform = create_train_transform(
        recipe="mirror", recipes_dir=recipes, image_size=32, mean=(0, 0, 0), std=(1, 1, 1)
    )
    tensor = transform(image=image)["image"]
    assert tuple(tensor.shape) == (3, 32, 32)
    assert tensor[:, :, -1].mean() > 0.9 and tensor[:, :, 0].mean() < 0.1  # mirrored: white on the right
    with pytest.raises(RecipeError, match="broken.yaml"):
        create_train_transform(recipe="broken", recipes_dir=recipes, image_size=32, mean=(0,) * 3, std=(1,) * 3)


# ---------------------------------------------------------------- device, precision, TTA


def test_device_and_precision_resolve_on_the_cpu_with_clear_errors():
    import torch

    from core.training.runtime import resolve_amp, resolve_device

    cpu = torch.device("cpu")
    assert resolve_amp("auto", cpu) is None and resolve_amp("off", cpu) is None
    assert resolve_amp("bf16", cpu) == torch.bfloat16
    with pytest.raises(ValueError, match="fp16 needs a CUDA GPU"):
        resolve_amp("fp16", cpu)
    assert resolve_device("cpu") == cpu
    with pytest.raises(ValueError, match="train.device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == cpu
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda:0")


def test_tta_flips_rot90_averages_softmax_over_the_eight_views_of_the_square():
    import torch

    from core.models.factory import create_model
    from core.training.loop import predict, tta_views
    from core.training.runtime import Runtime

    torch.manual_seed(0)
    model = create_model(MODEL, pretrained="none", num_classes=NUM_CLASSES).eval()
    images = torch.randn(4, 3, 32, 32)
    batches = [(images, torch.zeros(4, dtype=torch.long))]
    runtime = Runtime(device=torch.device("cpu"))

    views = tta_views(images, "flips_rot90")
    assert len(views) == 8 and len({v.numpy().tobytes() for v in views}) == 8  # all distinct
    with torch.no_grad():
        expected = torch.stack([model(v).softmax(-1) for v in views]).mean(0).numpy()
    got = predict(model, batches, runtime=runtime, tta="flips_rot90")
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(got, predict(model, batches, runtime=runtime, tta="none"), atol=1e-4)

    square = torch.ones(1, 3, 32, 32)  # symmetric under every rotation and mirror: TTA changes nothing
    symmetric = [(square, torch.zeros(1, dtype=torch.long))]
    np.testing.assert_allclose(
        predict(model, symmetric, runtime=runtime, tta="flips_rot90"),
        predict(model, symmetric, runtime=runtime, tta="none"),
        atol=1e-5,
    )


# ---------------------------------------------------------------- DDP: 2 processes on the CPU (gloo)


def test_ddp_with_two_cpu_processes_writes_the_same_artifacts(
    demo: Path, finished_run: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("WORKBENCH_SLOTS", "2")  # core.train takes one slot per "GPU"
    run_dir = new_run(demo, "train.gpus=2")
    status = run_job(run_dir)
    assert status["state"] == "succeeded", status.get("traceback", status.get("message"))

    def artifacts(folder: Path) -> list[str]:
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != "log.txt")

    assert artifacts(run_dir) == artifacts(finished_run)
    for name in ("oof.csv", "test_probs.csv", "submission.csv", "embeddings_ids.csv"):
        ddp, single = _csv(run_dir / name), _csv(finished_run / name)
        assert list(ddp.columns) == list(single.columns) and sorted(ddp["ID"]) == sorted(single["ID"]), name
    np.testing.assert_allclose(_csv(run_dir / "oof.csv")[PROBS].sum(axis=1), 1.0, atol=1e-4)
    assert np.load(run_dir / "embeddings.npy").shape == np.load(finished_run / "embeddings.npy").shape
    # rank 0's callbacks reached the job: every epoch of both folds is in events.jsonl
    epochs = read_events(run_dir, kinds=("epoch",))
    assert [(e["fold"], e["epoch"]) for e in epochs] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert json.loads((run_dir / "status.json").read_text())["progress"] == 1.0


def _torchrun_stand_in(*lines: str, then: str) -> list[str]:
    """A command that prints `lines` (relayed callbacks as rank 0 sends them) and then runs `then`."""
    import sys

    return [sys.executable, "-c", f"import os, sys\nsys.stdout.write({''.join(lines)!r})\nsys.stdout.flush()\n{then}"]


def _relayed(call: str, **kwargs) -> str:
    from core.training.ddp import MARK

    return MARK + json.dumps({"call": call, "kwargs": kwargs}) + "\n"


def test_ddp_a_rank_crashing_in_its_teardown_after_finished_does_not_fail_the_run(capsys):
    from core.training.ddp import supervise

    recorder = Recorder()
    epoch = _relayed("on_epoch", fold=0, epoch=0, metrics={"val_f1": 0.5})
    # gloo's teardown on one rank: "terminate called without an active exception", then SIGABRT
    command = _torchrun_stand_in(
        epoch, _relayed("finished"), "terminate called without an active exception\n", then="os.abort()"
    )
    supervise(command, dict(os.environ), recorder)

    assert recorder.epochs == [{"fold": 0, "epoch": 0, "val_f1": 0.5}]
    assert len(recorder.messages) == 1 and recorder.messages[0].startswith("warning: a training process failed")
    assert "terminate called" in capsys.readouterr().out  # the crash stays in the run's log


def test_ddp_a_crash_before_finished_fails_the_run_with_the_last_lines():
    from core.training.ddp import supervise

    command = _torchrun_stand_in(_relayed("on_epoch", fold=0, epoch=0, metrics={}), "rank 1 lost\n", then="os.abort()")
    with pytest.raises(RuntimeError, match=r"(?s)torchrun exit code -6.*rank 1 lost"):
        supervise(command, dict(os.environ), Recorder())

    error = _relayed("error", type="ValueError", message="train.csv row 7: no such class")
    with pytest.raises(RuntimeError, match="^ValueError: train.csv row 7: no such class$"):
        supervise(_torchrun_stand_in(error, then="sys.exit(1)"), dict(os.environ), Recorder())


def test_workbench_predict_reproduces_the_runs_test_probabilities(demo: Path, finished_run: Path, run_cli, tmp_path):
    out = tmp_path / "again.csv"
    code, stdout, err = run_cli(
        ["predict", "--project", str(demo), "--run", finished_run.name, "--tta", "--out", str(out)]
    )  # the run's train.tta (flips) and its two fold models, from their safetensors
    assert code == 0, err
    assert stdout.strip().splitlines()[-1] == str(out)
    again, saved = _csv(out), _csv(finished_run / "test_probs.csv")
    assert again["ID"].tolist() == saved["ID"].tolist()
    np.testing.assert_allclose(again[PROBS].to_numpy(), saved[PROBS].to_numpy(), atol=1e-4)
