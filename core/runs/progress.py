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
from typing import Any, Protocol, TextIO


class RecordWriter(Protocol):
    """What progress is written through: a job's status file (core.runs.status.StatusFile). A protocol, not
    an import, so the run folder's modules may use this one without an import cycle."""

    def update(self, **fields: Any) -> dict[str, Any]: ...


class EventWriter(RecordWriter, Protocol):
    """A run folder's writer (core.runs.folder.RunWriter): its status file and its events.jsonl."""

    def event(self, kind: str, **fields: Any) -> None: ...


STAGE_FIELDS = ("step", "steps", "epoch", "epochs", "fold", "folds")  # where a progress report is, per stage


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

    def __init__(self, status: RecordWriter, *, min_interval_s: float = 0.5) -> None:
        self.status_file = status
        self.min_interval_s = min_interval_s
        self._last_write = -float("inf")

    def on_progress(self, *, progress: float, message: str = "", **where: Any) -> None:
        now = time.monotonic()
        stage = "step" not in where
        if not stage and progress < 1.0 and now - self._last_write < self.min_interval_s:
            return
        self._last_write = now
        # Fields of an earlier stage that this report does not repeat are cleared (null), so a reader never
        # shows the embedding's "step 300/300" beside "fitting fold 2/5".
        fields = {**dict.fromkeys(STAGE_FIELDS), "progress": round(float(progress), 4), **where}
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

    def __init__(self, writer: EventWriter, *, min_interval_s: float = 0.5) -> None:
        super().__init__(writer, min_interval_s=min_interval_s)
        self.writer = writer

    def write(self, fields: dict[str, Any]) -> None:
        super().write(fields)
        self.writer.event("progress", **fields)

    def on_epoch(self, *, fold: int, epoch: int, metrics: dict[str, float]) -> None:
        self.writer.event("epoch", fold=fold, epoch=epoch, **metrics)
        print(metrics_line(metrics, fold=fold, epoch=epoch), flush=True)

    def on_fold_end(self, *, fold: int, metrics: dict[str, float]) -> None:
        self.writer.event("fold_end", fold=fold, **metrics)
        print(metrics_line(metrics, fold=fold, done=True), flush=True)

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


# ------------------------------------------------------------------ what a person reads of a job's progress

METRIC_NAMES = {
    "train_loss": "train loss",
    "val_loss": "val loss",
    "val_acc": "val accuracy",
    "val_f1": "val macro-F1",
    "lr": "lr",
}


def metrics_line(
    metrics: dict[str, Any], *, fold: int | None = None, epoch: int | None = None, done: bool = False
) -> str:
    """One readable log line, "fold 2 · epoch 3 · train loss 0.41 · val macro-F1 0.87" (fold and epoch
    counted from 1; `done`: "fold 2 done · ..."). Numbers get 4 significant digits, learning rates 2."""
    parts = []
    if fold is not None:
        parts.append(f"fold {int(fold) + 1}" + (" done" if done else ""))
    if epoch is not None:
        parts.append(f"epoch {int(epoch) + 1}")
    for key, value in metrics.items():
        name = METRIC_NAMES.get(key, key.replace("_", " "))
        if isinstance(value, float):
            parts.append(f"{name} {value:.2g}" if key == "lr" else f"{name} {value:.4g}")
        else:
            parts.append(f"{name} {value}")
    return " · ".join(parts)


def readable_log_line(line: str) -> str:
    """A log line of an older run, "fold 0 done: {'val_f1': 0.5, ...}" or "fold 0 epoch 1: a=0.1 b=2",
    rewritten as `metrics_line` writes it today; any other line unchanged."""
    import ast
    import re

    match = re.fullmatch(r"fold (\d+) done: (\{.*\})\s*", line)
    if match:
        try:
            metrics = ast.literal_eval(match.group(2))
        except (ValueError, SyntaxError):
            return line
        if isinstance(metrics, dict):
            return metrics_line(metrics, fold=int(match.group(1)), done=True)
        return line
    match = re.fullmatch(r"fold (\d+) epoch (\d+): ((?:\S+=\S+ ?)+)\s*", line)
    if match:
        pairs = dict(item.split("=", 1) for item in match.group(3).split())
        values: dict[str, Any] = {}
        for key, text in pairs.items():
            try:
                values[key] = float(text)
            except ValueError:
                values[key] = text
        return metrics_line(values, fold=int(match.group(1)), epoch=int(match.group(2)))
    return line


ETA_MIN_PROGRESS = 0.03  # below this share done, an estimate of the time left is mostly noise


def job_timing(status: dict[str, Any], *, now: float | None = None) -> tuple[float | None, float | None]:
    """(seconds the job has run, estimated seconds left) from its status record.

    Elapsed: duration_s once it ended, else now - started_at (a queued job: None). Time left: elapsed *
    (1 - progress) / progress while it runs and progress >= ETA_MIN_PROGRESS, else None.
    """
    from datetime import datetime

    if status.get("duration_s") is not None and status.get("state") not in ("queued", "running"):
        return float(status["duration_s"]), None
    started = status.get("started_at")
    if not isinstance(started, str) or status.get("state") != "running":
        return None, None
    try:
        began = datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None, None
    elapsed = max(0.0, (time.time() if now is None else now) - began)
    try:
        progress = float(status.get("progress") or 0.0)
    except (TypeError, ValueError):
        progress = 0.0
    if progress < ETA_MIN_PROGRESS or progress >= 1.0:
        return elapsed, None
    return elapsed, elapsed * (1.0 - progress) / progress


def format_duration(seconds: float) -> str:
    """ "45 s", "3 min 05 s", "1 h 02 min"."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
