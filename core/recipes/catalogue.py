"""The transforms a recipe editor offers, with their parameters, and steps <-> albumentations Compose.

    TRANSFORMS            {"GaussNoise": TransformSpec(name, summary, params, default_p), ...}
    build_step(name, params)    one albumentations transform, every parameter checked (RecipeError)
    steps_of(compose)     [Step(name, p, params), ...]: what an editor shows and edits
    compose_of(steps)     the Compose those steps make; compose_of(steps_of(c)) serializes as c does

A parameter's `kind` says what an editor draws and what `build_step` accepts:

    float, int           one number in [low, high]
    range_float          a pair (a, b) with low <= a <= b <= high; albumentations draws from it
    range_int            the same with integers
    bool                 true / false
    choice               one of `choices` (labels; "border_mode" labels are cv2 border codes)

`steps_of` refuses (RecipeError) a recipe the editor cannot show without losing something: a
transform outside this catalogue, a composition such as OneOf, or a parameter the catalogue does
not offer set to a value other than albumentations' default. The page then offers the raw YAML.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from core.recipes.serialization import albumentations, albumentations_error, normalized
from core.recipes.store import RecipeError

KINDS = ("float", "int", "range_float", "range_int", "bool", "choice")

# Labels an editor shows for cv2's border codes, and the codes albumentations stores.
BORDER_MODES = {"constant": 0, "replicate": 1, "reflect": 2, "reflect_101": 4}
_CODES = {"border_mode": BORDER_MODES}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a transform as the editor offers it (see the module docstring for `kind`)."""

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class TransformSpec:
    """One transform the editor offers: its albumentations class name, a one-line summary, its parameters."""

    name: str
    summary: str
    params: tuple[ParamSpec, ...] = ()
    default_p: float = 0.5  # the probability a newly added step starts with


@dataclass(frozen=True)
class Step:
    """One step of a recipe as an editor edits it: a catalogue transform, its probability, its parameters."""

    name: str
    p: float
    params: dict[str, Any] = field(default_factory=dict)


def _rf(name: str, default: tuple[float, float], low: float, high: float, help_text: str) -> ParamSpec:
    return ParamSpec(name, "range_float", default, low, high, help=help_text)


def _ri(name: str, default: tuple[int, int], low: int, high: int, help_text: str) -> ParamSpec:
    return ParamSpec(name, "range_int", default, low, high, help=help_text)


_BORDER = ParamSpec(
    "border_mode",
    "choice",
    "replicate",
    choices=tuple(BORDER_MODES),
    help="what fills the corners: constant (the fill value), replicate (the edge), reflect",
)
_FILL = ParamSpec("fill", "float", 0.0, 0, 255, help="grey level of the corners when border_mode is constant")

_SPECS = (
    # geometry
    TransformSpec("RandomRotate90", "a quarter turn: 0, 90, 180 or 270 degrees, drawn uniformly", default_p=1.0),
    TransformSpec("HorizontalFlip", "mirror left to right"),
    TransformSpec("VerticalFlip", "mirror top to bottom"),
    TransformSpec("Transpose", "swap rows and columns (a flip across the diagonal)"),
    TransformSpec(
        "Rotate",
        "a small rotation, as a scan fed in askew",
        (_rf("limit", (-10.0, 10.0), -180, 180, "angle in degrees, drawn from this range"), _BORDER, _FILL),
    ),
    TransformSpec(
        "Perspective",
        "a perspective warp, as a page photographed at an angle",
        (_rf("scale", (0.02, 0.06), 0, 0.5, "how far the corners move, as a fraction of the side"),),
    ),
    # noise
    TransformSpec(
        "GaussNoise",
        "Gaussian noise on every pixel",
        (
            _rf("std_range", (0.02, 0.1), 0, 1, "standard deviation as a fraction of 255 (0.04 is 10 grey levels)"),
            ParamSpec("per_channel", "bool", True, help="independent noise in each colour channel"),
        ),
    ),
    TransformSpec(
        "ISONoise",
        "camera sensor noise: grainy colour speckles",
        (
            _rf("color_shift", (0.01, 0.05), 0, 1, "how far the speckles' hue shifts"),
            _rf("intensity", (0.1, 0.5), 0, 2, "how strong the speckles are"),
        ),
    ),
    TransformSpec(
        "SaltAndPepper",
        "single pixels turned black or white",
        (_rf("amount", (0.01, 0.06), 0, 1, "fraction of the pixels changed"),),
    ),
    # colour
    TransformSpec(
        "ColorJitter",
        "brightness, contrast, saturation and hue shifts, as torchvision's ColorJitter",
        (
            _rf("brightness", (0.8, 1.2), 0, 3, "brightness factor (1 = unchanged)"),
            _rf("contrast", (0.8, 1.2), 0, 3, "contrast factor (1 = unchanged)"),
            _rf("saturation", (0.8, 1.2), 0, 3, "saturation factor (1 = unchanged)"),
            _rf("hue", (-0.05, 0.05), -0.5, 0.5, "hue shift as a fraction of the colour wheel"),
        ),
    ),
    TransformSpec(
        "RandomBrightnessContrast",
        "brighter or darker, more or less contrast",
        (
            _rf("brightness_limit", (-0.2, 0.2), -1, 1, "brightness change as a fraction of 255"),
            _rf("contrast_limit", (-0.2, 0.2), -1, 1, "contrast change (0.2 = up to 20% more)"),
        ),
    ),
    TransformSpec(
        "HueSaturationValue",
        "colour shifts in hue, saturation and value",
        (
            _rf("hue_shift_limit", (-20.0, 20.0), -180, 180, "hue shift in degrees"),
            _rf("sat_shift_limit", (-30.0, 30.0), -255, 255, "saturation shift (0..255 scale)"),
            _rf("val_shift_limit", (-20.0, 20.0), -255, 255, "value (brightness) shift (0..255 scale)"),
        ),
    ),
    TransformSpec(
        "RGBShift",
        "each colour channel shifted up or down: tinted ink and paper, as scans and photos come",
        (
            _rf("r_shift_limit", (-20.0, 20.0), -255, 255, "red shift (0..255 scale)"),
            _rf("g_shift_limit", (-20.0, 20.0), -255, 255, "green shift (0..255 scale)"),
            _rf("b_shift_limit", (-20.0, 20.0), -255, 255, "blue shift (0..255 scale)"),
        ),
    ),
    TransformSpec(
        "RandomGamma",
        "gamma curve: mid-tones lighter or darker",
        (_rf("gamma_limit", (80.0, 120.0), 1, 500, "gamma x 100 (100 = unchanged)"),),
    ),
    TransformSpec("ToGray", "grey (kept as 3 identical channels)", default_p=0.1),
    TransformSpec("ChannelShuffle", "the colour channels in a random order", default_p=0.1),
    TransformSpec("InvertImg", "the negative: light ink on dark paper", default_p=0.1),
    # blur and compression
    TransformSpec(
        "GaussianBlur",
        "an out-of-focus blur",
        (
            _rf("sigma_limit", (0.5, 1.5), 0, 10, "blur radius (Gaussian sigma, pixels)"),
            _ri("blur_limit", (0, 0), 0, 31, "kernel size in pixels, odd; 0 = from sigma"),
        ),
    ),
    TransformSpec(
        "MotionBlur",
        "a blur along a line, as a page that moved during the scan",
        (_ri("blur_limit", (3, 7), 3, 31, "kernel size in pixels, odd"),),
    ),
    TransformSpec(
        "ImageCompression",
        "JPEG (or WebP) artefacts",
        (
            _ri("quality_range", (40, 95), 1, 100, "compression quality (100 = nearly lossless)"),
            ParamSpec("compression_type", "choice", "jpeg", choices=("jpeg", "webp"), help="the codec"),
        ),
    ),
    TransformSpec(
        "Downscale",
        "lost resolution: shrunk, then enlarged back to the same size",
        (_rf("scale_range", (0.5, 0.9), 0.05, 0.99, "the shrinking factor"),),
    ),
)
TRANSFORMS: dict[str, TransformSpec] = {spec.name: spec for spec in _SPECS}


def build_step(name: str, params: dict[str, Any]) -> Any:
    """One albumentations transform from a catalogue name and its parameters (`p` among them, optional).

    Parameters left out take the catalogue's default. Raises RecipeError naming the transform, the
    parameter and the bad value: an unknown transform or parameter, a value of the wrong kind or out
    of range, or one albumentations itself refuses.
    """
    spec = TRANSFORMS.get(name)
    if spec is None:
        close = difflib.get_close_matches(str(name), list(TRANSFORMS), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"the editor offers {', '.join(TRANSFORMS)}"
        raise RecipeError(f"unknown transform {name!r}; {hint}")
    params = dict(params)
    p = _checked(ParamSpec("p", "float", spec.default_p, 0, 1), name, params.pop("p", spec.default_p))
    known = {param.name: param for param in spec.params}
    unknown = sorted(set(params) - set(known))
    if unknown:
        offered = ", ".join(["p", *known])
        raise RecipeError(f"{name}: unknown parameter(s) {', '.join(map(repr, unknown))}; {name} takes {offered}")
    values = {key: _checked(param, name, params.get(key, param.default)) for key, param in known.items()}
    values = {key: _CODES[key][value] if key in _CODES else value for key, value in values.items()}
    try:
        return getattr(albumentations(), name)(**values, p=p)
    except Exception as exc:  # noqa: BLE001 - albumentations' own validation (pydantic ValueErrors, TypeErrors)
        raise RecipeError(f"{name}: {albumentations_error(exc)}") from exc


def _checked(param: ParamSpec, transform: str, value: Any) -> Any:
    """`value` in the form albumentations takes (floats, int pairs, ...), or RecipeError naming it."""
    problem = _problem(param, value)
    if problem:
        raise RecipeError(f"{transform}: {param.name} = {value!r} {problem}")
    if param.kind == "float":
        return float(value)
    if param.kind == "int":
        return int(value)
    if param.kind == "range_float":
        return (float(value[0]), float(value[1]))
    if param.kind == "range_int":
        return (int(value[0]), int(value[1]))
    return value


def _problem(param: ParamSpec, value: Any) -> str:
    """Why `value` does not fit `param` ("" when it does)."""
    bounds = f"in [{param.low:g}, {param.high:g}]" if param.low is not None and param.high is not None else ""
    if param.kind == "bool":
        return "" if isinstance(value, bool) else "must be true or false"
    if param.kind == "choice":
        return "" if value in param.choices else f"must be one of {', '.join(map(str, param.choices))}"
    integral = param.kind in ("int", "range_int")
    numbers = list(value) if param.kind.startswith("range") and isinstance(value, list | tuple) else [value]
    if param.kind.startswith("range") and (len(numbers) != 2 or not isinstance(value, list | tuple)):
        return f"must be a pair [low, high] {bounds}".rstrip()
    if not all(_is_number(v, integral=integral) for v in numbers):
        return f"must be {'whole numbers' if integral else 'numbers'} {bounds}".rstrip()
    if param.low is not None and param.high is not None and not all(param.low <= v <= param.high for v in numbers):
        return f"must be {bounds}"
    if len(numbers) == 2 and numbers[0] > numbers[1]:
        return "must be a pair [low, high] with low <= high"
    return ""


def _is_number(value: Any, *, integral: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return float(value).is_integer() if integral else value == value  # NaN is no number


def steps_of(compose: Any) -> list[Step]:
    """The steps an editor shows for a Compose; RecipeError where the editor would lose something (module doc)."""
    A = albumentations()
    if type(compose) is not A.Compose or compose.p != 1:
        raise RecipeError("the editor edits a plain list of steps (a Compose with p = 1); edit the YAML instead")
    steps = []
    for index, transform in enumerate(compose.transforms, start=1):
        name = type(transform).__name__
        if name not in TRANSFORMS:
            raise RecipeError(f"step {index}: {name} is not one of the editor's transforms; edit the YAML instead")
        saved = A.to_dict(transform)["transform"]
        params = {param.name: _editor_value(param, saved.get(param.name)) for param in TRANSFORMS[name].params}
        step = Step(name=name, p=float(saved["p"]), params=params)
        try:
            rebuilt = A.to_dict(build_step(name, {**params, "p": step.p}))["transform"]
        except RecipeError as exc:
            raise RecipeError(f"step {index}: {exc}; edit the YAML instead") from exc
        lost = sorted(k for k in set(saved) | set(rebuilt) if normalized(saved.get(k)) != normalized(rebuilt.get(k)))
        if lost:
            raise RecipeError(
                f"step {index}: {name} sets {', '.join(lost)}, which the editor does not offer; edit the YAML instead"
            )
        steps.append(step)
    return steps


def _editor_value(param: ParamSpec, value: Any) -> Any:
    """A value as albumentations serialized it, in the editor's form (tuples, labels for codes)."""
    if param.name in _CODES:
        labels = {code: label for label, code in _CODES[param.name].items()}
        return labels.get(value, value)
    if isinstance(value, list):
        return tuple(value)
    return value


def compose_of(steps: list[Step]) -> Any:
    """The albumentations Compose (p = 1) of an editor's steps; RecipeError names the step that is wrong."""
    transforms = []
    for index, step in enumerate(steps, start=1):
        try:
            transforms.append(build_step(step.name, {**step.params, "p": step.p}))
        except RecipeError as exc:
            raise RecipeError(f"step {index}: {exc}") from exc
    return albumentations().Compose(transforms, p=1.0)
