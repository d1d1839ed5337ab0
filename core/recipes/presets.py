"""The noise recipes that ship with the workbench, as albumentations pipelines.

    none           nothing: the images as they are
    light          the test set's geometry (rot90, flips) and a little noise, colour and blur
    document-scan  the competition's test noise, imitated: rot90, flips, small rotations, a few
                   negatives, tinted ink and paper (RGBShift), brightness / contrast shifts, blur,
                   Gaussian noise on every image (last, as in the test images), a little JPEG
    heavy          stronger and more varied: perspective, ISO noise, colour jitter, hue, grey, channel
                   shuffles, motion blur, heavier JPEG and downscaling
    default        the legacy recipe that runs made before the presets existed name; kept exactly as it
                   was (a OneOf of two colour shifts, so the editor cannot open it) and never editable

Every preset is a flat list of transforms the editor's catalogue offers (core.recipes.catalogue), so
a copied preset opens in the editor; each keeps uint8 RGB and the image's size (a quarter turn swaps
height and width, as in the test images).
"""

from __future__ import annotations

from typing import Any

from core.recipes.serialization import albumentations

PRESETS = ("none", "light", "document-scan", "heavy")
LEGACY_DEFAULT = "default"  # the recipe runs named before presets existed; kept as it was
BUILT_IN = (*PRESETS, LEGACY_DEFAULT)

# cv2.BORDER_REPLICATE: a rotated scan's corners take the paper's colour at the edge, not black.
_REPLICATE = 1


def preset(name: str) -> Any:
    """The albumentations Compose of a built-in recipe (PRESETS, or the legacy "default").

    Raises ValueError naming the known presets for any other name.
    """
    builders = {
        "none": lambda A: [],
        "light": _light,
        "document-scan": _document_scan,
        "heavy": _heavy,
        LEGACY_DEFAULT: _legacy_default,
    }
    if name not in builders:
        raise ValueError(f"no built-in noise recipe {name!r}; built in: {', '.join(BUILT_IN)}")
    A = albumentations()
    return A.Compose(builders[name](A), p=1.0)


def _geometry(A: Any) -> list[Any]:
    """The test images' orientations: a uniformly drawn quarter turn, then flips (all 8 dihedral views)."""
    return [A.RandomRotate90(p=1.0), A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)]


def _light(A: Any) -> list[Any]:
    return [
        *_geometry(A),
        A.GaussNoise(std_range=(0.01, 0.05), p=0.3),
        A.RandomBrightnessContrast(brightness_limit=(-0.1, 0.1), contrast_limit=(-0.1, 0.1), p=0.3),
        A.GaussianBlur(sigma_limit=(0.3, 1.0), p=0.1),
    ]


def _document_scan(A: Any) -> list[Any]:
    # The order is the test noise's: geometry, colour, blur, then noise last (noise before the blur,
    # smoothed away, scored 0.04 lower on Fashion-MNIST). Chosen on the demo and on Fashion-MNIST
    # (bench/recipe_scan.py): with 4 copies and TTA at 128 px, test macro-F1 0.78 and 0.77, where an
    # earlier version with ColorJitter, HueSaturationValue, ToGray, ISO noise and downscaling as well
    # scored 0.78 and 0.72.
    return [
        *_geometry(A),
        A.Rotate(limit=(-10, 10), border_mode=_REPLICATE, p=0.3),
        A.InvertImg(p=0.1),
        A.RGBShift(r_shift_limit=(-60, 60), g_shift_limit=(-60, 60), b_shift_limit=(-60, 60), p=0.9),
        A.RandomBrightnessContrast(brightness_limit=(-0.12, 0.12), contrast_limit=(-0.35, 0.25), p=0.7),
        A.GaussianBlur(sigma_limit=(0.6, 1.6), p=0.4),
        A.GaussNoise(std_range=(0.015, 0.11), p=1.0),  # sigma 4..28 on 0..255, as in the test images
        A.ImageCompression(quality_range=(50, 95), p=0.1),
    ]


def _heavy(A: Any) -> list[Any]:
    return [
        *_geometry(A),
        A.Rotate(limit=(-20, 20), border_mode=_REPLICATE, p=0.6),
        A.Perspective(scale=(0.02, 0.06), p=0.3),
        A.GaussNoise(std_range=(0.03, 0.2), p=1.0),
        A.ISONoise(color_shift=(0.02, 0.08), intensity=(0.2, 0.7), p=0.4),
        A.RGBShift(r_shift_limit=(-80, 80), g_shift_limit=(-80, 80), b_shift_limit=(-80, 80), p=0.8),
        A.ColorJitter(brightness=(0.7, 1.3), contrast=(0.6, 1.4), saturation=(0.5, 1.5), hue=(-0.1, 0.1), p=0.6),
        A.RandomBrightnessContrast(brightness_limit=(-0.25, 0.25), contrast_limit=(-0.5, 0.4), p=0.6),
        A.HueSaturationValue(hue_shift_limit=(-20, 20), sat_shift_limit=(-40, 40), val_shift_limit=(-30, 30), p=0.5),
        A.ToGray(p=0.1),
        A.ChannelShuffle(p=0.1),
        A.InvertImg(p=0.15),
        A.GaussianBlur(sigma_limit=(0.5, 2.5), p=0.4),
        A.MotionBlur(blur_limit=(3, 7), p=0.2),
        A.ImageCompression(quality_range=(20, 80), p=0.5),
        A.Downscale(scale_range=(0.3, 0.8), p=0.3),
    ]


def _legacy_default(A: Any) -> list[Any]:
    """The recipe "default" exactly as runs made before the presets used it (do not change: old runs name it)."""
    return [
        A.RandomRotate90(p=0.5),
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.OneOf(
            [
                A.HueSaturationValue(hue_shift_limit=15, sat_shift_limit=30, val_shift_limit=20, p=1.0),
                A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.3, hue=0.05, p=1.0),
            ],
            p=0.4,
        ),
        A.RandomBrightnessContrast(brightness_limit=0.15, contrast_limit=0.3, p=0.5),
        A.GaussianBlur(sigma_limit=(0.5, 1.6), p=0.3),
        A.GaussNoise(std_range=(0.02, 0.1), p=0.5),  # sigma 5..25 on 0..255, like the test images
    ]
