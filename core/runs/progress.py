"""How progress leaves a long operation: one callbacks protocol, so the code doing the work knows
nothing of files, terminals or screens.

    Callbacks          the protocol (no-op base): on_progress, on_epoch, on_fold_end, on_message
    StatusCallbacks    writes progress into a job's status file (core.runs.status), throttled
    RunCallbacks       ... and into a run folder's events.jsonl and the job's log (stdout)
    SpanCallbacks      an operation's progress as its share (start..end) of a larger job's, throttled
    TerminalProgress   one line on a terminal, rewritten in place (the command line)
    TeeCallbacks       every call passed on to several callbacks (a job's status file and a terminal)

Every long operation takes `callbacks: Callbacks | None = None` and reports
`on_progress(progress=fraction 0..1, message=..., step=done, steps=total)`: the image index, dataset
loading, embeddings, UMAP, scans and training. The app drives a progress bar with its own subclass
(workbench/, which may import streamlit).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from core.runs.folder import RunWriter
    from core.runs.status import StatusFile


class Callbacks:
    """No-op base; subclass what you need. `progress` is the whole operation's completion in 0..1."""

    def on_progress(self, *, progress: float, message: str = "", **where: Any) -> None:
        """Called often (every few steps) and at each stage.

        `where` may hold step, steps (items done and in all, within the current stage: images,
        batches, epochs), fold, folds, epoch, epochs. A call without `step` marks a stage boundary.
        """

    def on_epoch(self, *, fold: int, epoch: int, metrics: dict[str, float]) -> None:
        """Called once per finished epoch with e.g. train_loss, val_loss, val_acc, val_f1, lr."""

    def on_fold_end(self, *, fold: int, metrics: dict[str, float]) -> None:
        """Called when a fold's best checkpoint and out-of-fold predictions are on disk."""

    def on_message(self, text: str) -> None:
        """A line for the job's log panel."""


class StatusCallbacks(Callbacks):
    """Writes progress into a job's status file: at most once per `min_interval_s` while steps tick,
    always at a stage boundary (a call without `step`) and at the end (progress 1)."""

    def __init__(self, status: StatusFile, *, min_interval_s: float = 0.5) -> None:
        self.status_file = status
        self.min_interval_s = min_interval_s
        self._last_write = -float("inf")

    def on_progress(self, *, progress: float, message: str = "", **where: Any) -> None:
        now = time.monotonic()
        stage = "step" not in where
        if not stage and progress < 1.0 and now - self._last_write < self.min_interval_s:
            return
        self._last_write = now
        fields = {"progress": round(float(progress), 4), **where}
        if message:
            fields["message"] = message
        self.write(fields)

    def write(self, fields: dict[str, Any]) -> None:
        """Where a due progress report goes: merged into the status file (subclasses add more)."""
        self.status_file.update(**fields)

    def on_message(self, text: str) -> None:
        self.status_file.update(message=text)


class RunCallbacks(StatusCallbacks):
    """Writes progress to a run folder (status.json throttled, events.jsonl for each write) and to stdout."""

    def __init__(self, writer: RunWriter, *, min_interval_s: float = 0.5) -> None:
        super().__init__(writer, min_interval_s=min_interval_s)
        self.writer = writer

    def write(self, fields: dict[str, Any]) -> None:
        super().write(fields)
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
        super().on_message(text)
        print(text, flush=True)


class SpanCallbacks(Callbacks):
    """Hands progress on to `parent` rescaled into `span` = (start, end), the share of the whole job an
    operation covers (the train images' embeddings: 0..0.4 of a scan). Calls that count steps are
    passed at most once per `min_interval_s`; the first, stage boundaries and the end always pass.
    """

    def __init__(self, parent: Callbacks, span: tuple[float, float], *, min_interval_s: float = 0.5) -> None:
        self.parent, (self.start, self.end), self.min_interval_s = parent, span, min_interval_s
        self._last = -float("inf")

    def on_progress(self, *, progress: float, message: str = "", **where: Any) -> None:
        now = time.monotonic()
        if "step" in where and progress < 1.0 and now - self._last < self.min_interval_s:
            return
        self._last = now
        scaled = self.start + (self.end - self.start) * float(progress)
        self.parent.on_progress(progress=scaled, message=message, **where)

    def on_epoch(self, *, fold: int, epoch: int, metrics: dict[str, float]) -> None:
        self.parent.on_epoch(fold=fold, epoch=epoch, metrics=metrics)

    def on_fold_end(self, *, fold: int, metrics: dict[str, float]) -> None:
        self.parent.on_fold_end(fold=fold, metrics=metrics)

    def on_message(self, text: str) -> None:
        self.parent.on_message(text)


class TerminalProgress(Callbacks):
    """Progress on a terminal (stderr by default), for the command line.

    Counted steps rewrite one line in place, "<label>: 1,234/3,000 <unit>", at most once per
    `min_interval_s` and always at the last step (which ends the line); a stage boundary or a
    message is a line of its own ("<label>: <message>", or the message alone without a label).
    """

    def __init__(
        self, label: str = "", *, unit: str = "", stream: TextIO | None = None, min_interval_s: float = 1.0
    ) -> None:
        self.label, self.unit, self.stream, self.min_interval_s = label, unit, stream, min_interval_s
        self._last = -float("inf")

    def _print(self, text: str, *, end: str = "\n") -> None:
        print(text, end=end, file=self.stream or sys.stderr, flush=True)

    def on_progress(self, *, progress: float, message: str = "", **where: Any) -> None:
        step, steps = where.get("step"), where.get("steps")
        if step is None or steps is None:
            if message:
                self.on_message(message)
            return
        last = step >= steps
        now = time.perf_counter()
        if not last and now - self._last <= self.min_interval_s:
            return
        self._last = now
        counted = f"{int(step):,}/{int(steps):,}" + (f" {self.unit}" if self.unit else "")
        self._print(f"\r{self.label}: {counted}" if self.label else f"\r{counted}", end="\n" if last else "")

    def on_message(self, text: str) -> None:
        self._print(f"{self.label}: {text}" if self.label else text)


class TeeCallbacks(Callbacks):
    """Every call passed on to each of `targets`, in order."""

    def __init__(self, *targets: Callbacks) -> None:
        self.targets = targets

    def on_progress(self, *, progress: float, message: str = "", **where: Any) -> None:
        for target in self.targets:
            target.on_progress(progress=progress, message=message, **where)

    def on_epoch(self, *, fold: int, epoch: int, metrics: dict[str, float]) -> None:
        for target in self.targets:
            target.on_epoch(fold=fold, epoch=epoch, metrics=metrics)

    def on_fold_end(self, *, fold: int, metrics: dict[str, float]) -> None:
        for target in self.targets:
            target.on_fold_end(fold=fold, metrics=metrics)

    def on_message(self, text: str) -> None:
        for target in self.targets:
            target.on_message(text)
