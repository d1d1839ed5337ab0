"""Collective operations of DDP training (no-ops in a single process).

sum_across_ranks, broadcast_buffers, gather_rows
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from core.training.runtime import Runtime


# ------------------------------------------------------------------ collectives used by the loop


def sum_across_ranks(values: list[float], *, runtime: Runtime) -> list[float]:
    """Element-wise sum over the DDP ranks (the values themselves without DDP)."""
    if runtime.world_size == 1:
        return list(values)
    import torch
    import torch.distributed as dist

    tensor = torch.tensor(values, dtype=torch.float64, device=runtime.device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def broadcast_buffers(model: Any, *, runtime: Runtime) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics): each rank's last training
    step updated its own, and predictions must not depend on which rank made them."""
    if runtime.world_size == 1:
        return
    import torch.distributed as dist

    for buffer in model.buffers():
        dist.broadcast(buffer.data, src=0)


def gather_rows(rows: np.ndarray, values: np.ndarray, *, count: int, runtime: Runtime) -> np.ndarray:
    """Reassemble an array whose rows were computed in shards: this rank holds `values` for row
    indices `rows` (of `count`); every rank gets all `count` rows back, in order."""
    if runtime.world_size == 1:
        return values
    import torch.distributed as dist

    shards: list[Any] = [None] * runtime.world_size
    dist.all_gather_object(shards, (np.asarray(rows), np.asarray(values)))
    width = next((v.shape[1:] for _, v in shards if len(v)), values.shape[1:])
    dtype = next((v.dtype for _, v in shards if len(v)), values.dtype)
    out = np.zeros((count, *width), dtype=dtype)
    for shard_rows, shard_values in shards:
        if len(shard_rows):
            out[shard_rows] = shard_values
    return out
