"""How different the test images look from the train images, and in what way: the Overview's
"train vs test" card and the Recipes page's "still differs" column.

    image_statistics(pixels)             -> dict of STATISTICS for one (H, W, 3) uint8 image
    folder_statistics(paths, max_px=)    -> DataFrame, one row per readable image (unreadable ones skipped)
    shift_kinds(a, b)                    -> [KindShift], the kinds of difference between two sets of statistics
    domain_auc(train_emb, test_emb)      -> cross-validated ROC AUC of a classifier telling test from train
    describe_auc(auc)                    -> the AUC in words a user understands

The kinds (orientation, colour, noise, blur, size) come from simple per-image statistics compared with
the two-sample Kolmogorov-Smirnov statistic (scipy): a kind differs when one of its statistics has
KS >= KIND_KS, the KS test's p < SIGNIFICANCE and one of the 10th, 50th or 90th percentiles moved
by at least the statistic's smallest change (far off from KS >= FAR_KS). On the demo and on Fashion-MNIST with the competition's test noise (bench projects), the
statistics named colour, noise, blur and orientation shifts (KS 0.5-1.0 train vs test) and not size
(KS <= 0.12); a recipe that adds a kind of noise brings that kind's KS under 0.35 while the kinds it
leaves out stay at 0.7-1.0. Orientation is seen only where the classes have an upright shape
(digits: tall; clothing: centred), from the objects' bounding boxes and principal axes.

The domain classifier is a logistic regression on the first 64 principal components of the L2-normalised
embeddings, scored by stratified 5-fold cross-validation on equal numbers of train and test rows:
AUC 0.5 = test cannot be told from train; 1.0 = always can. It says THAT the sets differ, not which
recipe closes the gap (every recipe scored AUC 0.94-1.00 on the bench projects; see core.recipes.fit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

KIND_KS = 0.2  # a kind differs when one of its statistics has a KS statistic at least this large,
SIGNIFICANCE = 0.01  # the KS test's p-value below this (a small sample's chance differences are not named)
FAR_KS = 0.5  # and a percentile moved by the statistic's smallest change; far off (what a recipe left out, rather than imitated roughly) from this on
STAT_MAX_PX = 256  # images are shrunk to at most this long side before their statistics (both sets alike)

# statistic -> (kind, what it measures, the smallest change of a percentile that counts)
STATISTICS: dict[str, tuple[str, str, float]] = {
    "brightness": ("colour", "paper brightness (0-255)", 8.0),
    "paper_saturation": ("colour", "paper colour saturation (0-1)", 0.04),
    "paper_tint": ("colour", "spread of the paper's colour channels", 4.0),
    "contrast": ("colour", "contrast (grey levels between the 5th and 95th percentile)", 15.0),
    "polarity": ("colour", "ink minus paper brightness (negative: dark ink on light paper)", 20.0),
    "noise_sigma": ("noise", "pixel noise (standard deviation in grey levels)", 2.0),
    "edge_sharpness": ("blur", "edge sharpness (strongest gradients over contrast)", 0.25),
    "object_area": ("size", "share of the image the object covers", 0.04),
    "aspect": ("orientation", "object height over width (log)", 0.15),
    "centroid_y": ("orientation", "object centre, top to bottom", 0.05),
    "centroid_x": ("orientation", "object centre, left to right", 0.05),
    "axis_angle": ("orientation", "angle of the object's main axis (degrees)", 8.0),
}
KINDS = ("orientation", "colour", "noise", "blur", "size")

_LAPLACE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def image_statistics(pixels: np.ndarray) -> dict[str, float]:
    """STATISTICS of one (H, W, 3) uint8 RGB image (H, W >= 8)."""
    from scipy import ndimage

    x = np.asarray(pixels, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != 3 or min(x.shape[:2]) < 8:
        raise ValueError(f"expected an (H, W, 3) image of at least 8 x 8 pixels, got shape {x.shape}")
    grey = x.mean(2)
    height, width = grey.shape
    border = np.concatenate(
        [x[:3].reshape(-1, 3), x[-3:].reshape(-1, 3), x[:, :3].reshape(-1, 3), x[:, -3:].reshape(-1, 3)]
    )
    paper = np.median(border, 0)
    high, low = x.max(2), x.min(2)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1), 0)
    p5, p95 = np.percentile(grey, [5, 95])
    contrast = p95 - p5
    # Immerkaer (1996): noise sigma from a Laplacian-difference filter, robust to the image's content.
    laplace = np.abs(ndimage.convolve(grey, _LAPLACE))[1:-1, 1:-1]
    noise = float(np.sqrt(np.pi / 2) / (6 * (width - 2) * (height - 2)) * laplace.sum())
    smooth = ndimage.median_filter(grey, 3)
    gradient = np.hypot(ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1))
    sharpness = float(np.percentile(gradient, 99) / max(contrast, 1.0))
    distance = np.linalg.norm(x - paper, axis=2)
    obj = distance > 0.5 * np.percentile(distance, 99)
    ys, xs = np.nonzero(obj)
    if len(ys) > 5:
        aspect = float(np.log((ys.max() - ys.min() + 1) / (xs.max() - xs.min() + 1)))
        cy, cx = float(ys.mean() / height - 0.5), float(xs.mean() / width - 0.5)
        cov = np.cov(np.vstack([ys, xs]))
        angle = float(np.degrees(0.5 * np.arctan2(2 * cov[0, 1], cov[0, 0] - cov[1, 1])))
    else:
        aspect = cy = cx = angle = 0.0
    return {
        "brightness": float(paper.mean()),
        "paper_saturation": float(saturation[~obj].mean()) if (~obj).any() else 0.0,
        "paper_tint": float(paper.std()),
        "contrast": float(contrast),
        "polarity": float(grey[obj].mean() - paper.mean()) if obj.any() else 0.0,
        "noise_sigma": noise,
        "edge_sharpness": sharpness,
        "object_area": float(obj.mean()),
        "aspect": aspect,
        "centroid_y": cy,
        "centroid_x": cx,
        "axis_angle": angle,
    }


def shrunk(pixels: np.ndarray, max_px: int = STAT_MAX_PX) -> np.ndarray:
    """The image at most `max_px` on its long side (as it is when smaller)."""
    from PIL import Image

    if max(pixels.shape[:2]) <= max_px:
        return pixels
    image = Image.fromarray(pixels)
    image.thumbnail((max_px, max_px), Image.Resampling.BILINEAR)
    return np.asarray(image)


def folder_statistics(
    paths: Sequence[str | Path],
    *,
    max_px: int = STAT_MAX_PX,
    transform: Callable[[np.ndarray, str], np.ndarray] | None = None,
) -> pd.DataFrame:
    """One row of STATISTICS per image that opens (core.io.images.open_rgb); unreadable or tiny ones are skipped.

    transform(pixels, path), when given, changes each full-size image first (e.g. a recipe copy of it).
    """
    from core.io.images import ImageError, open_rgb

    rows = []
    for path in paths:
        try:
            pixels = np.asarray(open_rgb(Path(path), draft_size=None if transform else (max_px, max_px)))
            if transform is not None:
                pixels = transform(pixels, str(path))
            rows.append(image_statistics(shrunk(pixels, max_px)))
        except (ImageError, OSError, ValueError):
            continue
    return pd.DataFrame(rows, columns=list(STATISTICS))


@dataclass(frozen=True)
class KindShift:
    """One kind of difference between two image sets: its strongest statistic and how far apart they are."""

    kind: str
    ks: float  # the KS statistic of the kind's most different statistic (0: same distribution, 1: disjoint)
    statistic: str  # that statistic
    first_median: float  # its median in the first set (train, or a recipe's copies)
    second_median: float  # its median in the second set (test)
    p_value: float = 0.0  # the KS test's
    moved: bool = True  # whether its 10th, 50th or 90th percentile moved by the statistic's smallest change

    @property
    def differs(self) -> bool:
        return self.ks >= KIND_KS and self.p_value < SIGNIFICANCE and self.moved

    @property
    def far_off(self) -> bool:
        return self.differs and self.ks >= FAR_KS

    def sentence(self, first: str = "train", second: str = "test") -> str:
        """e.g. "noise: pixel noise (standard deviation in grey levels) is 10.3 in test vs 0.78 in train (KS 0.99)"."""
        what = STATISTICS[self.statistic][1]
        return (
            f"{self.kind}: {what} is {self.second_median:.3g} in {second} vs {self.first_median:.3g} in {first} "
            f"(median; KS {self.ks:.2f})"
        )


def shift_kinds(first: pd.DataFrame, second: pd.DataFrame) -> list[KindShift]:
    """Every kind (KINDS order), from the statistic that separates the two sets most; needs >= 2 rows each."""
    from scipy.stats import ks_2samp

    if len(first) < 2 or len(second) < 2:
        raise ValueError(f"need at least 2 images on each side, got {len(first)} and {len(second)}")
    best: dict[str, KindShift] = {}
    for statistic, (kind, _, smallest) in STATISTICS.items():
        a, b = first[statistic].to_numpy(float), second[statistic].to_numpy(float)
        test = ks_2samp(a, b)
        moved = bool(np.abs(np.percentile(a, [10, 50, 90]) - np.percentile(b, [10, 50, 90])).max() >= smallest)
        found = KindShift(kind, float(test.statistic), statistic, float(np.median(a)), float(np.median(b)),
                          float(test.pvalue), moved)  # fmt: skip
        # The statistic that shows the kind's difference best: one that counts first, then the larger KS.
        if kind not in best or (found.differs, found.ks) > (best[kind].differs, best[kind].ks):
            best[kind] = found
    return [best[kind] for kind in KINDS]


def domain_auc(train: np.ndarray, test: np.ndarray, *, seed: int = 0, max_rows: int = 2000) -> float:
    """Cross-validated ROC AUC of a logistic regression telling test rows from train rows (module docstring)."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    train, test = np.asarray(train, dtype=np.float64), np.asarray(test, dtype=np.float64)
    n = min(len(train), len(test), max_rows)
    if n < 10:
        raise ValueError(f"need at least 10 train and 10 test rows to compare, got {len(train)} and {len(test)}")
    rng = np.random.default_rng(seed)
    rows = np.concatenate(
        [train[rng.choice(len(train), n, replace=False)], test[rng.choice(len(test), n, replace=False)]]
    )
    rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    y = np.r_[np.zeros(n), np.ones(n)]
    components = min(64, rows.shape[1], 2 * n - 1)
    model = make_pipeline(PCA(components, random_state=seed), LogisticRegression(C=1.0, max_iter=2000))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(model, rows, y, cv=folds, scoring="roc_auc")))


def describe_auc(auc: float) -> str:
    """The domain classifier's AUC in words."""
    if auc < 0.6:
        return "Test looks like train: a classifier cannot tell a test image from a train image"
    if auc < 0.8:
        return "Test differs a little from train: a classifier tells them apart only sometimes"
    if auc < 0.95:
        return "Test differs clearly from train: a classifier tells them apart most of the time"
    return "Test looks very different from train: a classifier tells a test image from a train image almost every time"


def kind_shifts(items: list) -> list[KindShift]:
    """KindShifts back from their stored dicts (dataclasses.asdict); malformed entries are left out."""
    shifts = []
    for item in items:
        try:
            shifts.append(
                KindShift(
                    kind=str(item["kind"])[:20],
                    ks=float(item["ks"]),
                    statistic=str(item["statistic"]) if item["statistic"] in STATISTICS else "",
                    first_median=float(item["first_median"]),
                    second_median=float(item["second_median"]),
                    p_value=float(item.get("p_value", 0.0)),
                    moved=bool(item.get("moved", True)),
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return [s for s in shifts if s.statistic]
