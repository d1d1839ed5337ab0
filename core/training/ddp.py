"""More than one GPU (train.gpus = N > 1): the same training under torchrun, one process per GPU.

The job process (core.train) stays in charge. `launch` pickles the run's inputs into a private
temporary folder and starts, as a child in the job's process group (no shell; Cancel's signal to
the group reaches every rank):

    python -m torch.distributed.run --standalone --nproc_per_node=N -m core.training.ddp --run-dir RUN --inputs FILE

Every rank runs `core.training.fit.train_folds`: it trains on its share of each epoch (DistributedSampler),
predicts its share of the rows, and the shares are gathered so every rank sees the same
validation scores (and stops early together). Rank 0 alone writes the artifacts, and relays its
callbacks to the parent as marked JSON lines on stdout; the parent replays them onto its own
Callbacks (status.json, events.jsonl) and passes every other line through to the run's log.
On the CPU (train.device=cpu) "GPUs" are processes talking over gloo; on CUDA, NCCL.

The end: every rank waits at a barrier until all have finished (rank 0 writes the last fold's files
after the others are done), then rank 0 relays "finished" and all tear their process group down.
A rank that crashes after that, while shutting down (gloo can abort in its teardown), cannot have
touched the run: the parent logs it as a warning and the run succeeds. Any earlier failure fails it.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.runs.jobs import REPO_ROOT
from core.runs.progress import Callbacks

if TYPE_CHECKING:
    from core.runs.inputs import RunInputs


MARK = "@@workbench-callback@@ "  # starts a relayed callback line on rank 0's stdout


INPUTS_FILE = "inputs.pkl"


# ------------------------------------------------------------------ the parent (the job process)


def launch(inputs: RunInputs, callbacks: Callbacks, *, processes: int) -> None:
    """Run `train_folds` on `processes` ranks under torchrun and wait; callbacks arrive as they happen.

    Raises RuntimeError with the ranks' last output lines when a rank fails before all finished (`supervise`).
    """
    workdir = Path(tempfile.mkdtemp(prefix="workbench-ddp-"))  # private (0700): holds a pickle
    try:
        with open(workdir / INPUTS_FILE, "wb") as handle:
            pickle.dump(inputs, handle, protocol=pickle.HIGHEST_PROTOCOL)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": _pythonpath()}
        # torchrun would pin every rank to 1 thread; CPU ranks share the cores instead.
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // processes)))
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={processes}",
            "-m",
            "core.training.ddp",
            "--run-dir",
            str(inputs.run_dir),
            "--inputs",
            str(workdir / INPUTS_FILE),
        ]
        callbacks.on_message(f"starting {processes} training processes (torchrun, DDP)")
        supervise(command, env, callbacks)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def supervise(command: list[str], env: dict[str, str], callbacks: Callbacks) -> None:
    """Start torchrun (`command`), replay rank 0's relayed callbacks, pass its other lines to the log, wait.

    Raises RuntimeError when it fails before rank 0 relayed "finished"; a failure after that (a rank
    crashing in its teardown, once every rank passed the final barrier) is logged as a warning.
    """
    proc = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        errors="replace",
    )
    try:
        tail: collections.deque[str] = collections.deque(maxlen=40)
        error, finished = None, False
        for line in proc.stdout:
            if line.startswith(MARK):
                record = json.loads(line[len(MARK) :])
                if record["call"] == "error":
                    error = record["kwargs"]
                elif record["call"] == "finished":
                    finished = True
                else:
                    getattr(callbacks, record["call"])(**record["kwargs"])
                continue
            tail.append(line.rstrip("\n"))
            print(line, end="", flush=True)  # the job's stdout is the run's log.txt
        code = proc.wait()
        if code != 0:
            if finished:
                callbacks.on_message(
                    f"warning: a training process failed while shutting down (torchrun exit code {code}), after "
                    "every process had finished training and rank 0 had written the run's files; "
                    "the run is complete (its log shows the failure)"
                )
                return
            if error is not None:
                raise RuntimeError(f"{error['type']}: {error['message']}")
            raise RuntimeError(f"DDP training failed (torchrun exit code {code}); last lines:\n" + "\n".join(tail))
    finally:
        if proc.poll() is None:  # cancelled or failed here: stop the ranks too
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _pythonpath() -> str:
    existing = os.environ.get("PYTHONPATH")
    return f"{REPO_ROOT}{os.pathsep}{existing}" if existing else str(REPO_ROOT)


class RelayCallbacks(Callbacks):
    """Rank 0's callbacks: one marked JSON line per call on stdout, replayed by the parent."""

    def send(self, call: str, **kwargs: Any) -> None:
        line = MARK + json.dumps({"call": call, "kwargs": kwargs}, default=_plain)
        sys.stdout.write(line + "\n")  # one write of one line: ranks' lines never interleave within it
        sys.stdout.flush()

    def on_progress(self, *, progress: float, message: str = "", **where: Any) -> None:
        self.send("on_progress", progress=progress, message=message, **where)

    def on_epoch(self, *, fold: int, epoch: int, metrics: dict[str, float]) -> None:
        self.send("on_epoch", fold=fold, epoch=epoch, metrics=metrics)

    def on_fold_end(self, *, fold: int, metrics: dict[str, float]) -> None:
        self.send("on_fold_end", fold=fold, metrics=metrics)

    def on_message(self, text: str) -> None:
        self.send("on_message", text=text)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


# ------------------------------------------------------------------ a rank (the child)


def main(argv: list[str] | None = None) -> int:
    """One rank, as torchrun starts it (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_* in the environment)."""
    parser = argparse.ArgumentParser(prog="python -m core.training.ddp", description="one DDP rank of a training run")
    parser.add_argument("--run-dir", required=True, help="the run folder (for the record; inputs name it too)")
    parser.add_argument("--inputs", required=True, help="the pickled RunInputs written by core.training.ddp.launch")
    args = parser.parse_args(argv)

    import torch
    import torch.distributed as dist

    from core.training.fit import train_folds

    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    with open(args.inputs, "rb") as handle:
        inputs = pickle.load(handle)  # noqa: S301 - written by our own parent into a private folder
    on_cuda = inputs.config.train.device != "cpu" and torch.cuda.is_available()
    if on_cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if on_cuda else "gloo")
    callbacks = RelayCallbacks() if rank == 0 else Callbacks()
    try:
        train_folds(inputs, callbacks, rank=rank, world_size=world_size, local_rank=local_rank)
        # No rank tears down while another still works: rank 0 writes the last fold's files after the others are done.
        dist.barrier(device_ids=[local_rank] if on_cuda else None)
        if rank == 0:
            callbacks.send("finished")
    except Exception as exc:
        if rank == 0:
            callbacks.send("error", type=type(exc).__name__, message=str(exc))
        raise
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
