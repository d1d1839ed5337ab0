"""core.training.data.init_worker: each DataLoader worker reseeds the pipeline as one random stream."""

from __future__ import annotations

import types

import albumentations as A
import numpy as np
import torch

from core.training import data


def test_a_worker_seeds_the_pipeline_so_its_steps_draw_independently(monkeypatch):
    pipeline = A.Compose([A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)])
    dataset = types.SimpleNamespace(transform=pipeline)
    monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda: types.SimpleNamespace(seed=1234, dataset=dataset))
    data.init_worker(0)
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image[0, 0] = 255  # a marked corner: where it lands tells which flips were applied
    corners = set()
    for _ in range(64):
        out = pipeline(image=image)["image"]
        corners.add(tuple(int(v) for v in np.argwhere(out[..., 0] == 255)[0]))
    # Independent 50% flips put the mark in all four corners; steps sharing one seed only ever flip together
    # (two corners).
    assert corners == {(0, 0), (0, 3), (3, 0), (3, 3)}
