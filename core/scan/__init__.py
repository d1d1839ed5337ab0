"""The `scan` run: frozen-backbone embeddings + a k-fold logistic regression (runs on a CPU in minutes).

run     run_scan: embed, fit the folds, write the same artifacts as a train run
embed   embed_scan, scan_recipe: the images, their recipe copies (scan.copies) and test views (scan.tta)
views   RecipeCopy, DihedralView, dihedral, image_seed: what is embedded besides the images, and its cache key
linear  the linear head: fit_linear, predict_linear, save_head, load_head
"""

from __future__ import annotations

from core.scan.embed import ScanEmbeddings, embed_scan, scan_recipe
from core.scan.linear import fit_linear, load_head, predict_linear
from core.scan.run import run_scan
from core.scan.views import DihedralView, RecipeCopy, dihedral, image_seed

__all__ = [
    "DihedralView",
    "RecipeCopy",
    "ScanEmbeddings",
    "dihedral",
    "embed_scan",
    "fit_linear",
    "image_seed",
    "load_head",
    "predict_linear",
    "run_scan",
    "scan_recipe",
]
