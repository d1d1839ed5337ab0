"""How progress leaves a scan or a training loop: callbacks, so loops know nothing of files or screens."""

from __future__ import annotations

import time
from typing import Any


class Callbacks:
    """No-op base; subclass what you need. `progress` is the whole run's completion in 0..1."""

    def on_progress(self, *, progress: float, message: str = "", **where: Any) -> None:
        """Called often (every few steps). `where` may hold fold, folds, epoch, epochs, step, steps."""

    def on_epoch(self, *, fold: int, epoch: int, metrics: dict[str, float]) -> None:
        """Called once per finished epoch with e.g. train_loss, val_loss, val_acc, val_f1, lr."""

    def on_fold_end(self, *, fold: int, metrics: dict[str, float]) -> None:
        """Called when a fold's best checkpoint and out-of-fold predictions are on disk."""

    def on_message(self, text: str) -> None:
        """A line for the job's log panel."""


class RunCallbacks(Callbacks):
    """Writes progress to a run folder (status.json throttled, events.jsonl always) and to stdout."""

    def __init__(self, writer, *, min_interval_s: float = 0.5) -> None:
        self.writer = writer
        self.min_interval_s = min_interval_s
        self._last_write = 0.0

    def on_progress(self, *, progress: float, message: str = "", **where: Any) -> None:
        now = time.monotonic()
        if now - self._last_write < self.min_interval_s and progress < 1.0:
            return
        self._last_write = now
        fields = {"progress": round(float(progress), 4), **where}
        if message:
            fields["message"] = message
        self.writer.status(**fields)
        self.writer.event("progress", **fields)

    def on_epoch(self, *, fold: int, epoch: int, metrics: dict[str, float]) -> None:
        self.writer.event("epoch", fold=fold, epoch=epoch, **metrics)
        shown = " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())
        print(f"fold {fold} epoch {epoch}: {shown}", flush=True)

    def on_fold_end(self, *, fold: int, metrics: dict[str, float]) -> None:
        self.writer.event("fold_end", fold=fold, **metrics)
        print(f"fold {fold} done: {metrics}", flush=True)

    def on_message(self, text: str) -> None:
        self.writer.event("message", text=text)
        self.writer.status(message=text)
        print(text, flush=True)
