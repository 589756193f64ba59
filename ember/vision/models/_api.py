"""The weights API of torchvision.models: Weights, WeightsEnum, the model registry (get_model,
list_models, get_model_weights, get_weight) and loading checkpoints from the torch hub cache.

The facts of every weights entry (URL, parameter count, metrics, the preset's sizes) and the
ImageNet category names come from torchvision 0.29 and are stored in ``_weights_meta.json``.
"""

from __future__ import annotations

import enum
import fnmatch
import functools
import inspect
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ember import nn

from ...hub import load_state_dict_from_url
from ..transforms._presets import ImageClassification
from ..transforms.functional import InterpolationMode

_META = json.loads((Path(__file__).with_name("_weights_meta.json")).read_text())
_IMAGENET_CATEGORIES: list[str] = _META["imagenet_categories"]


@dataclass
class Weights:
    """One set of pretrained weights: where it is, its preprocessing and its facts."""

    url: str
    transforms: Callable
    meta: dict[str, Any]

    def __eq__(self, other: Any) -> bool:
        # enum aliases (DEFAULT) are found by equality: compare what identifies the weights
        if not isinstance(other, Weights):
            return NotImplemented
        return self.url == other.url and self.meta == other.meta


class WeightsEnum(enum.Enum):
    """Base of the per-model enums (``ResNet50_Weights.IMAGENET1K_V2``, ``.DEFAULT``)."""

    @classmethod
    def verify(cls, obj: Any) -> Any:
        """``obj`` as a member of this enum (a member, a name such as "DEFAULT", or None)."""
        if obj is not None:
            if type(obj) is str:
                obj = cls[obj.replace(cls.__name__ + ".", "")]
            elif not isinstance(obj, cls):
                raise TypeError(
                    f"Invalid Weight class provided; expected {cls.__name__} "
                    f"but received {obj.__class__.__name__}."
                )
        return obj

    def get_state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The checkpoint, from the torch hub cache (downloaded there when missing)."""
        return load_state_dict_from_url(self.url, *args, **kwargs)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}.{self._name_}"

    @property
    def url(self) -> str:
        return self.value.url

    @property
    def transforms(self) -> Callable:
        return self.value.transforms

    @property
    def meta(self) -> dict[str, Any]:
        return self.value.meta


def _preset(spec: dict[str, Any]) -> Callable:
    kw = {k: v for k, v in spec.items() if k != "class"}
    if "interpolation" in kw:
        kw["interpolation"] = InterpolationMode(kw["interpolation"])
    return functools.partial(ImageClassification, **kw)


def weights_enum(enum_name: str, model: str, module: str) -> type[WeightsEnum]:
    """The weights enum of ``model`` built from the stored facts, DEFAULT an alias."""
    info = _META["models"][model]
    members = []
    for name, w in info["weights"].items():
        meta = dict(w["meta"])
        if "min_size" in meta:
            meta["min_size"] = tuple(meta["min_size"])
        if "categories" not in meta:  # stored as null for weights without a classifier
            meta["categories"] = _IMAGENET_CATEGORIES
        members.append((name, Weights(w["url"], _preset(w["transforms"]), meta)))
    members.append(("DEFAULT", dict(members)[info["default"]]))
    cls = WeightsEnum(enum_name, members, module=module, qualname=enum_name)
    cls.__str__ = WeightsEnum.__repr__  # str and repr are the same as torchvision's
    return cls


# --- the registry ------------------------------------------------------------------------------

BUILTIN_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str | None = None) -> Callable:
    """Decorator: record a model builder under ``name`` (its function name by default)."""

    def wrapper(fn: Callable) -> Callable:
        key = name if name is not None else fn.__name__
        if key in BUILTIN_MODELS:
            raise ValueError(f"An entry is already registered under the name '{key}'.")
        BUILTIN_MODELS[key] = fn
        return fn

    return wrapper


def list_models(
    module: ModuleType | None = None,
    include: str | list[str] | None = None,
    exclude: str | list[str] | None = None,
) -> list[str]:
    """Sorted names of the registered models, optionally of one module, filtered by patterns."""
    models = {
        k
        for k, v in BUILTIN_MODELS.items()
        if module is None or v.__module__.rsplit(".", 1)[0] == module.__name__
    }
    if include:
        found: set[str] = set()
        for pat in [include] if isinstance(include, str) else include:
            found |= set(fnmatch.filter(models, pat))
        models = found
    if exclude:
        for pat in [exclude] if isinstance(exclude, str) else exclude:
            models -= set(fnmatch.filter(models, pat))
    return sorted(models)


def get_model_builder(name: str) -> Callable[..., nn.Module]:
    """The builder function registered as ``name``."""
    name = name.lower()
    try:
        return BUILTIN_MODELS[name]
    except KeyError:
        raise ValueError(f"Unknown model {name}") from None


def get_model(name: str, **config: Any) -> nn.Module:
    """A model by name: ``get_model("resnet50", weights="DEFAULT", num_classes=...)``."""
    return get_model_builder(name)(**config)


def get_model_weights(name: Callable | str) -> type[WeightsEnum]:
    """The weights enum of a model (by name or builder)."""
    model = get_model_builder(name) if isinstance(name, str) else name
    if "weights" not in inspect.signature(model).parameters or not hasattr(model, "_weights_enum"):
        raise ValueError("The weights enum class for the specific method couldn't be retrieved.")
    return model._weights_enum


def get_weight(name: str) -> WeightsEnum:
    """A weights member from its full name, e.g. "ResNet50_Weights.IMAGENET1K_V2"."""
    try:
        enum_name, value_name = name.split(".")
    except ValueError:
        raise ValueError(f"Invalid weight name provided: '{name}'.") from None
    for builder in BUILTIN_MODELS.values():
        w = getattr(builder, "_weights_enum", None)
        if w is not None and w.__name__ == enum_name:
            return w[value_name]
    raise ValueError(
        f"The weight enum '{enum_name}' for the specific method couldn't be retrieved."
    )


# --- builder conventions ---------------------------------------------------------------------


def _ovewrite_named_param(kwargs: dict[str, Any], param: str, new_value: Any) -> None:
    """Set ``kwargs[param]``; an explicit different value is an error (as torchvision)."""
    if param in kwargs:
        if kwargs[param] != new_value:
            raise ValueError(
                f"The parameter '{param}' expected value {new_value} but got {kwargs[param]} "
                "instead."
            )
    else:
        kwargs[param] = new_value


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """``v`` rounded to a multiple of ``divisor``, never more than 10% below ``v``."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def builder(name: str, weights_enum_cls: type[WeightsEnum], legacy: str | None = "IMAGENET1K_V1"):
    """Registers a builder ``fn(weights, progress, **kwargs)`` and gives it torchvision's
    calling conventions: ``weights`` checked against its enum (names like "DEFAULT" accepted),
    the deprecated ``pretrained=`` (True means the ``legacy`` weights) and positional use with
    their warnings."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args: Any, weights: Any = None, progress: bool = True, **kwargs: Any):
            sentinel = object()
            if args:
                names = ("weights", "progress")[: len(args)]
                warnings.warn(
                    f"Using {sequence_to_str(names, separate_last='and ')} as positional "
                    f"parameter(s) is deprecated since 0.13 and may be removed in the future. "
                    f"Please use keyword parameter(s) instead.",
                    stacklevel=2,
                )
                if len(args) > 2:
                    raise TypeError(
                        f"{name}() takes 0 positional arguments but {len(args)} were given"
                    )
                pos = dict(zip(names, args))
                progress = pos.get("progress", progress)
                if "weights" in pos:
                    weights = pos["weights"]
                    if not isinstance(weights, (WeightsEnum, str)) and weights is not None:
                        kwargs["pretrained"], weights = weights, sentinel
            if "pretrained" in kwargs and not isinstance(weights, (WeightsEnum, str)):
                pretrained = kwargs.pop("pretrained")
                if pretrained and legacy is None:
                    raise ValueError(f"No weights available for model {name}")
                default = weights_enum_cls[legacy] if pretrained else None
                if weights is not sentinel:
                    warnings.warn(
                        "The parameter 'pretrained' is deprecated since 0.13 and may be removed "
                        "in the future, please use 'weights' instead.",
                        stacklevel=2,
                    )
                msg = (
                    "Arguments other than a weight enum or `None` for 'weights' are deprecated "
                    "since 0.13 and may be removed in the future. The current behavior is "
                    f"equivalent to passing `weights={default}`."
                )
                if pretrained:
                    msg += (
                        f" You can also use `weights={weights_enum_cls.__name__}.DEFAULT` to get "
                        "the most up-to-date weights."
                    )
                warnings.warn(msg, stacklevel=2)
                weights = default
            elif weights is sentinel:
                weights = None
            weights = weights_enum_cls.verify(weights)
            return fn(weights=weights, progress=progress, **kwargs)

        inner._weights_enum = weights_enum_cls
        register_model(name)(inner)
        return inner

    return wrap


def sequence_to_str(seq, separate_last: str = "") -> str:
    if not seq:
        return ""
    if len(seq) == 1:
        return f"'{seq[0]}'"
    head = "'" + "', '".join([str(item) for item in seq[:-1]]) + "'"
    tail = f"{'' if separate_last and len(seq) == 2 else ','} {separate_last}'{seq[-1]}'"
    return head + tail


def finish(model: nn.Module, weights: WeightsEnum | None, progress: bool) -> nn.Module:
    """Loads ``weights`` (from the hub cache, downloaded if missing) into ``model``."""
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model
