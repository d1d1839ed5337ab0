"""The `scan` run: frozen-backbone embeddings + a k-fold logistic regression (runs on a CPU in minutes).

run     run_scan: embed, fit the folds, write the same artifacts as a train run
linear  the linear head: fit_linear, predict_linear, save_head, load_head
"""

from __future__ import annotations

from core.scan.linear import fit_linear, load_head, predict_linear
from core.scan.run import run_scan

__all__ = ["fit_linear", "load_head", "predict_linear", "run_scan"]
