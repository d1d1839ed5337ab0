"""Label health: how many train labels are likely wrong, overall and per class, and which classes overlap.

    label_health(labels, pred_probs) -> LabelHealth

From out-of-fold probabilities (`labels` (N,) class indices 0..K-1, `pred_probs` (N, K)):

- likely_wrong: rows whose most likely class is another one with probability >= CONFIDENT. This
  is the estimate of the number of wrong labels: it tracks the real count where classes overlap.
- cleanlab_estimate: `cleanlab.count.num_label_issues` (off_diagonal_calibrated, where the default
  flags stop). On overlapping classes it also counts the images the model finds plausible in two
  classes, so it is an upper bound rather than an estimate.
- classes: per class present, both counts and cleanlab's label quality score
  (`cleanlab.dataset.rank_classes_by_label_quality`), worst first.
- overlapping: `cleanlab.dataset.find_overlapping_classes`, the class pairs mixed up most, with how
  many of their examples are confident flags, how many are plausible in both, and whether the pair
  overlaps (OVERLAP_SHARE, OVERLAP_MIN).
- health_score: `cleanlab.dataset.overall_label_health_score`.

Measured with one default scan (Lite0, 5 folds, fold seed 0), true wrong labels / likely_wrong /
cleanlab_estimate:

    demo (digits) 224 px            93 / 74 / 85      128 px    93 / 74 / 106
    Fashion-MNIST, mixed noise     120 / 122 / 259    128 px   120 / 129 / 302
    Fashion-MNIST, systematic      120 / 136 / 254    128 px   120 / 131 / 263

(bench/fashion_project.py builds the Fashion-MNIST projects; 1,999 train images each.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.issues.label_issues import CONFIDENT, check_labels_and_probs, confidently_other

CLASS_COLUMNS = ["target", "images", "likely_wrong", "likely_wrong_share", "cleanlab_estimate", "quality_score"]
PAIR_COLUMNS = ["class_a", "class_b", "examples", "joint_probability", "likely_wrong", "plausible", "share", "overlaps"]
# A pair overlaps when the images the model finds plausible in both (its mixed-up examples, confident
# flags left out) are at least OVERLAP_SHARE of the two classes' images and OVERLAP_MIN images: a few
# confident flags between two classes are label errors, not an overlap (on the crafted shirt / T-shirt
# case a plain "examples >= 2%" also called Shirt / Trouser overlapping, 5 of whose 6 mix-ups are flips).
OVERLAP_SHARE = 0.02
OVERLAP_MIN = 3


@dataclass(frozen=True)
class LabelHealth:
    """What `label_health` estimates (see the module docstring)."""

    num_examples: int
    likely_wrong: int
    cleanlab_estimate: int
    health_score: float
    classes: pd.DataFrame  # CLASS_COLUMNS, worst quality first
    overlapping: pd.DataFrame  # PAIR_COLUMNS, most shared examples first

    @property
    def likely_wrong_share(self) -> float:
        return self.likely_wrong / self.num_examples if self.num_examples else 0.0

    def summary(self, class_names: Mapping[int, str] | None = None, *, pairs: int = 5) -> str:
        """A few lines a terminal can print: the estimate, the worst classes, the overlapping pairs."""
        from core.project.dataset import class_label

        names = dict(class_names or {})
        lines = [
            f"likely wrong labels: {self.likely_wrong:,} of {self.num_examples:,} ({self.likely_wrong_share:.1%}; "
            f"the model puts them in another class with probability >= {CONFIDENT}); up to "
            f"{self.cleanlab_estimate:,} counting images it finds plausible in two classes; "
            f"label health score {self.health_score:.3f}",
            "per class (worst first): "
            + ", ".join(
                f"{class_label(row.target, names)} {row.likely_wrong_share:.0%}" for row in self.classes.itertuples()
            ),
        ]
        if len(self.overlapping):
            shown = self.overlapping.head(pairs).itertuples()
            lines.append(
                "classes mixed up most: "
                + "; ".join(
                    f"{class_label(p.class_a, names)} / {class_label(p.class_b, names)} ({p.examples} images, "
                    + (f"{p.plausible} plausible in both: they overlap" if p.overlaps else f"{p.likely_wrong} flagged")
                    + ")"
                    for p in shown
                )
            )
        return "\n".join(lines)


def label_health(labels, pred_probs) -> LabelHealth:
    """Estimates of label quality from out-of-fold probabilities; raises ValueError naming bad input."""
    labels, pred_probs = check_labels_and_probs(labels, pred_probs)
    present = np.unique(labels)
    if len(present) < 2:
        return LabelHealth(len(labels), 0, 0, 1.0, _empty(CLASS_COLUMNS), _empty(PAIR_COLUMNS))
    # cleanlab wants every column carried by some label: drop absent classes, renormalise.
    sub_labels = np.searchsorted(present, labels)
    sub_probs = pred_probs[:, present]
    sub_probs = sub_probs / np.clip(sub_probs.sum(axis=1, keepdims=True), 1e-12, None)

    from cleanlab.count import num_label_issues
    from cleanlab.dataset import find_overlapping_classes, overall_label_health_score, rank_classes_by_label_quality

    estimated = int(num_label_issues(sub_labels, sub_probs, estimation_method="off_diagonal_calibrated"))
    likely = confidently_other(labels, pred_probs)
    score = float(overall_label_health_score(sub_labels, sub_probs, verbose=False))
    ranked = rank_classes_by_label_quality(labels=sub_labels, pred_probs=sub_probs)
    order = ranked["Class Index"].to_numpy(dtype=int)
    images = np.bincount(sub_labels, minlength=len(present))[order]
    wrong = np.bincount(sub_labels[likely], minlength=len(present))[order]
    classes = pd.DataFrame(
        {
            "target": present[order],
            "images": images,
            "likely_wrong": wrong,
            "likely_wrong_share": wrong / np.maximum(images, 1),
            "cleanlab_estimate": ranked["Label Issues"].to_numpy(dtype=int),
            "quality_score": ranked["Label Quality Score"].to_numpy(dtype=float),
        }
    )
    classes = classes.sort_values(["likely_wrong_share", "quality_score"], ascending=[False, True], kind="stable")
    pairs = find_overlapping_classes(labels=sub_labels, pred_probs=sub_probs)
    pairs = pairs[pairs["Num Overlapping Examples"] > 0]
    overlapping = pd.DataFrame(
        {
            "class_a": present[pairs["Class Index A"].to_numpy(dtype=int)],
            "class_b": present[pairs["Class Index B"].to_numpy(dtype=int)],
            "examples": pairs["Num Overlapping Examples"].to_numpy(dtype=int),
            "joint_probability": pairs["Joint Probability"].to_numpy(dtype=float),
        }
    )
    overlapping["likely_wrong"] = _pair_counts(overlapping, labels[likely], pred_probs[likely].argmax(axis=1))
    sizes = pd.Series(np.bincount(labels, minlength=pred_probs.shape[1]))
    both = sizes.reindex(overlapping["class_a"]).to_numpy() + sizes.reindex(overlapping["class_b"]).to_numpy()
    overlapping["plausible"] = (overlapping["examples"] - overlapping["likely_wrong"]).clip(lower=0)
    overlapping["share"] = overlapping["plausible"] / np.maximum(both, 1)
    overlapping["overlaps"] = (overlapping["share"] >= OVERLAP_SHARE) & (overlapping["plausible"] >= OVERLAP_MIN)
    return LabelHealth(
        len(labels),
        int(likely.sum()),
        estimated,
        score,
        classes.reset_index(drop=True),
        overlapping.reset_index(drop=True),
    )


def _pair_counts(pairs: pd.DataFrame, given: np.ndarray, suggested: np.ndarray) -> np.ndarray:
    """Per pair: rows whose given and suggested classes are that pair, either way round."""
    low, high = np.minimum(given, suggested), np.maximum(given, suggested)
    a, b = pairs["class_a"].to_numpy(dtype=int), pairs["class_b"].to_numpy(dtype=int)
    return np.array([int(((low == min(x, y)) & (high == max(x, y))).sum()) for x, y in zip(a, b)], dtype=int)


def expected_precision(labels, pred_probs) -> float:
    """The model's estimate of the share of wrong labels among these rows (0 for no rows).

    Per row: the probability of the most likely other class minus that of the given class, floored
    at 0 (cleanlab's normalized margin, read as a probability). It tracks the real share where classes
    are well separated and overstates it where they overlap (the model is confident about images a
    person would call ambiguous). Top 100 of the queue, estimate vs real (bench/label_health.py):
    demo 0.84 vs 0.89; Fashion-MNIST mixed 0.90 vs 0.70, systematic 0.88 vs 0.63.
    """
    labels, pred_probs = np.asarray(labels, dtype=np.int64), np.asarray(pred_probs, dtype=np.float64)
    if len(labels) == 0:
        return 0.0
    rows = np.arange(len(labels))
    given = pred_probs[rows, labels]
    others = pred_probs.copy()
    others[rows, labels] = -np.inf
    return float(np.clip(others.max(axis=1) - given, 0.0, 1.0).mean())


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
