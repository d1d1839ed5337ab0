"""Where and how a training process runs: device, precision (AMP), DDP rank, seeds.

resolve_runtime(device=, amp=, channels_last=, rank=, world_size=) -> Runtime
"""

from __future__ import annotations

import random
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


# ------------------------------------------------------------------ where and how the work runs


@dataclass(frozen=True)
class Runtime:
    """Device, precision and DDP rank of this process (not the run config: what the machine gives)."""

    device: Any  # torch.device
    amp_dtype: Any = None  # torch.bfloat16 | torch.float16 | None (full precision)
    channels_last: bool = False
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def autocast(self):
        import torch

        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def images_to_device(self, images: torch.Tensor) -> torch.Tensor:
        """A (pinned) host batch to the device; the channels_last layout is made there, not on the host."""
        import torch

        images = images.to(self.device, non_blocking=True)
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images

    def describe(self) -> str:
        precision = {None: "fp32"}.get(self.amp_dtype) or str(self.amp_dtype).removeprefix("torch.")
        ranks = f", {self.world_size} processes" if self.world_size > 1 else ""
        return f"{self.device} ({precision}{', channels_last' if self.channels_last else ''}{ranks})"


def resolve_device(spec: str, *, local_rank: int | None = None) -> torch.device:
    """train.device: auto (CUDA when there is one), cpu, cuda, cuda:N. Under DDP (`local_rank` given)
    each rank takes the GPU of its local rank among those visible, whatever N says."""
    import torch

    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return torch.device("cpu")
    if spec != "cuda" and not (spec.startswith("cuda:") and spec[5:].isdigit()):
        raise ValueError(f"train.device: {spec!r} is not one of auto, cpu, cuda, cuda:N")
    if not torch.cuda.is_available():
        raise ValueError(f"train.device={spec}: this machine has no CUDA GPU that torch can use; use cpu or auto")
    index = local_rank if local_rank is not None else int(spec[5:] or 0)
    if index >= torch.cuda.device_count():
        raise ValueError(f"train.device={spec}: GPU {index} asked for, {torch.cuda.device_count()} visible")
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """train.amp: auto = bf16 where the GPU supports it, else fp16, on CUDA; full precision on the CPU."""
    import torch

    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if amp == "fp16" and device.type != "cuda":
        raise ValueError("train.amp=fp16 needs a CUDA GPU; on the CPU use bf16 or off")
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def resolve_runtime(
    *, device: str, amp: str, channels_last: bool, rank: int = 0, world_size: int = 1, local_rank: int = 0
) -> Runtime:
    import torch

    resolved = resolve_device(device, local_rank=local_rank if world_size > 1 else None)
    if resolved.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed image size: let cuDNN pick the fastest kernels
    return Runtime(
        device=resolved,
        amp_dtype=resolve_amp(amp, resolved),
        channels_last=channels_last and resolved.type == "cuda",
        rank=rank,
        world_size=world_size,
    )


def seed_everything(seed: int) -> None:
    """python, numpy and torch (CPU and every GPU) generators."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
