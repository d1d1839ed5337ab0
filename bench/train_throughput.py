"""Training-loop overhead: images/s of core.training.loop.train_one_epoch vs a bare timm loop, same everything.

Both loops get the same model (re-created from one seed), batch size, precision, memory format and
the same pre-made synthetic batches (pinned host tensors on CUDA), so only the loops differ: ours
adds the per-step schedule, Mixup hooks, loss accumulation on the device and progress callbacks.
Target: ours >= 0.9 x bare on a GPU. On CUDA (picked automatically) the defaults are the offline
backbone at 224 px; on the CPU, timm's tiny test model at 64 px.

    .venv/bin/python bench/train_throughput.py [--model NAME] [--size PX] [--batch N] [--steps N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import REPO, note, report  # noqa: E402

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

BENCH = "train_throughput"
TARGET_RATIO = 0.9


def _model(name: str, *, runtime, num_classes: int):
    import torch

    from core.models.factory import create_model

    torch.manual_seed(0)
    model = create_model(name, pretrained="none", num_classes=num_classes).to(runtime.device)
    return model.to(memory_format=torch.channels_last) if runtime.channels_last else model


def _sync(runtime) -> None:
    import torch

    if runtime.cuda:
        torch.cuda.synchronize(runtime.device)


def bare_loop(model, batches, *, optimizer, runtime) -> None:
    """What a timm user writes by hand: move, autocast forward, backward, step."""
    import torch
    import torch.nn.functional as F

    model.train()
    for images, labels in batches:
        images = images.to(runtime.device, non_blocking=True)
        if runtime.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        labels = labels.to(runtime.device, non_blocking=True)
        with runtime.autocast():
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def our_loop(model, batches, *, optimizer, runtime, scheduler, callbacks) -> None:
    import torch

    from core.training.loop import train_one_epoch
    from core.training.losses import create_loss

    train_one_epoch(
        model,
        batches,
        loss_fn=create_loss("cross_entropy", num_classes=model.num_classes, device=runtime.device),
        optimizer=optimizer,
        runtime=runtime,
        steps=len(batches),
        scheduler=scheduler,
        scaler=torch.amp.GradScaler("cuda") if runtime.amp_dtype == torch.float16 else None,
        on_step=lambda step, steps: callbacks.on_progress(progress=step / steps, message="training", step=step),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="timm name (default: the offline backbone on CUDA, a tiny one on CPU)"
    )
    parser.add_argument("--size", type=int, default=None, help="image side (default: 224 on CUDA, 64 on the CPU)")
    parser.add_argument("--batch", type=int, default=None, help="batch size (default: 64 on CUDA, 32 on the CPU)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per repeat (default: 50 CUDA, 10 CPU)")
    parser.add_argument(
        "--repeat", type=int, default=None, help="alternating timed repeats, best kept (5 CUDA, 15 CPU)"
    )
    parser.add_argument("--amp", default="auto", help="train.amp: auto | bf16 | fp16 | off")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    args = parser.parse_args(argv)

    import torch
    from timm.optim import create_optimizer_v2

    from core.runs.progress import Callbacks
    from core.training.loop import create_schedule
    from core.training.runtime import resolve_runtime

    if args.threads:
        torch.set_num_threads(args.threads)
    runtime = resolve_runtime(device="auto", amp=args.amp, channels_last=True)
    cuda = runtime.cuda
    name = args.model or ("tf_efficientnet_lite0" if cuda else "test_efficientnet")
    size = args.size or (224 if cuda else 64)
    batch = args.batch or (64 if cuda else 32)
    steps = args.steps or (50 if cuda else 10)
    repeat = args.repeat or (5 if cuda else 15)
    num_classes = 17
    print(
        f"[{BENCH}] {name} at {size}px, batch {batch}, {steps} steps x {repeat}, on {runtime.describe()}, "
        f"torch threads {torch.get_num_threads()}",
        flush=True,
    )

    generator = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(steps):
        images = torch.randn(batch, 3, size, size, generator=generator)
        labels = torch.randint(0, num_classes, (batch,), generator=generator)
        batches.append((images.pin_memory(), labels.pin_memory()) if cuda else (images, labels))
    callbacks = Callbacks()  # what a job's throttled RunCallbacks costs per step, near enough

    timings: dict[str, list[float]] = {"bare": [], "ours": []}
    models = {}
    for loop in ("bare", "ours"):  # one model and optimiser per loop, warmed up before timing
        model = _model(name, runtime=runtime, num_classes=num_classes)
        optimizer = create_optimizer_v2(model, opt="adamw", lr=1e-4, weight_decay=0.05)
        scheduler = create_schedule(optimizer, name="cosine", epochs=10, warmup_epochs=1, steps_per_epoch=steps)
        models[loop] = (model, optimizer, scheduler)
        bare_loop(model, batches[:3], optimizer=optimizer, runtime=runtime)
    _sync(runtime)
    for _ in range(repeat):
        for loop in ("bare", "ours"):
            model, optimizer, scheduler = models[loop]
            start = time.perf_counter()
            if loop == "bare":
                bare_loop(model, batches, optimizer=optimizer, runtime=runtime)
            else:
                our_loop(model, batches, optimizer=optimizer, runtime=runtime, scheduler=scheduler, callbacks=callbacks)
            _sync(runtime)
            timings[loop].append(time.perf_counter() - start)

    images = steps * batch
    bare = images / min(timings["bare"])
    ours = images / min(timings["ours"])
    report(BENCH, f"bare timm loop ({name}, {size}px, batch {batch})", bare, "img/s")
    report(BENCH, f"core.training.loop.train_one_epoch ({name}, {size}px, batch {batch})", ours, "img/s")
    report(BENCH, f"ours / bare on {runtime.device.type}", ours / bare, "x", target=TARGET_RATIO, higher_is_better=True)
    if not cuda:
        note("CPU figure: the target is for a GPU; on a busy CPU the repeats vary by several percent")


if __name__ == "__main__":
    main()
