"""Functions torch keeps at its top level whose work ember does elsewhere: the in-place forms of
tensor methods (``torch.exp_(x)`` is ``x.exp_()``, ``torch.clamp_(x, 0, 1)`` is
``x.clamp_(0, 1)``) and a few ``nn.functional`` ops under their ATen names (``torch.celu``,
``torch.rrelu``, ``torch.alpha_dropout``, ``torch.feature_dropout``, ``torch.dropout_``, ...),
with torch's positional signatures (``train`` where ``nn.functional`` says ``training=``).
"""

from __future__ import annotations

from ._backend.xp import xp_of
from .nn import functional as F
from .ops.dropout import apply_mask, check_p, keep_mask
from .ops.embedding import renorm_rows
from .tensor import Tensor

# torch.<name>(input, *args) is input.<name>(*args) for each of these
_METHOD_FORMS = (
    "abs_ acos_ acosh_ addmv_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ as_strided_ "
    "asin_ asinh_ atan_ atanh_ ceil_ clamp_ clamp_max_ clamp_min_ clip_ conj_physical_ cos_ "
    "cosh_ deg2rad_ detach_ erf_ erfc_ exp2_ exp_ expm1_ fill_ fix_ floor_ frac_ gcd_ i0_ "
    "index_put_ lcm_ ldexp_ log10_ log1p_ log2_ log_ logit_ nan_to_num_ neg_ negative_ "
    "rad2deg_ reciprocal_ resize_as_ round_ rsqrt_ sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ "
    "tan_ tanh_ trunc_ xlogy_"
).split()


def _method_form(name: str):
    def fn(input: Tensor, *args, **kwargs) -> Tensor:
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}(input, ...): ``input.{name}(...)``, in place."
    return fn


globals().update({name: _method_form(name) for name in _METHOD_FORMS})


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place dropout, as torch.dropout_."""
    return F.dropout(input, p, train, inplace=True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """As torch.alpha_dropout (``nn.functional.alpha_dropout``)."""
    return F.alpha_dropout(input, p, train)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place alpha dropout, as torch.alpha_dropout_."""
    return F.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Alpha dropout of whole channels (dim 1), as torch.feature_alpha_dropout."""
    return F.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place feature alpha dropout, as torch.feature_alpha_dropout_."""
    return F.feature_alpha_dropout(input, p, train, inplace=True)


def _feature_dropout(input: Tensor, p: float, train: bool, inplace: bool) -> Tensor:
    check_p(p)
    if not train or p == 0.0 or input._data.size == 0:  # torch draws nothing
        return input
    nd = input._data.ndim
    if nd < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    a = input._data
    mask = keep_mask(a.shape[:2] + (1,) * (nd - 2), p, a.dtype, xp_of(a))
    return apply_mask(input, mask, inplace)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout of whole channels (dim 1) of an input of 2 or more dims, as torch.feature_dropout
    (``dropout1d``/``dropout2d``/``dropout3d`` without their rank checks)."""
    return _feature_dropout(input, p, train, False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place feature dropout, as torch.feature_dropout_."""
    return _feature_dropout(input, p, train, True)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """As torch.celu (``nn.functional.celu``)."""
    return F.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place celu, as torch.celu_."""
    return F.celu(input, alpha, inplace=True)


def selu(input: Tensor) -> Tensor:
    """As torch.selu (``nn.functional.selu``)."""
    return F.selu(input)


def selu_(input: Tensor) -> Tensor:
    """In-place selu, as torch.selu_."""
    return F.selu(input, inplace=True)


def _no_generator(generator, name: str) -> None:
    if generator is not None:
        raise NotImplementedError(
            f"ember does not implement torch.{name} with generator= yet (it draws from the "
            "default generator)"
        )


def _rrelu_args(
    lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, generator=None
):
    return lower, upper, training, generator


def rrelu(input: Tensor, *args, **kwargs) -> Tensor:
    """As torch.rrelu(input, lower=1/8, upper=1/3, training=False, generator=None)
    (``nn.functional.rrelu``, whose 5th argument is inplace, not a generator)."""
    lower, upper, training, generator = _rrelu_args(*args, **kwargs)
    _no_generator(generator, "rrelu")
    return F.rrelu(input, lower, upper, training)


def rrelu_(input: Tensor, *args, **kwargs) -> Tensor:
    """In-place rrelu, as torch.rrelu_ (rrelu's arguments)."""
    lower, upper, training, generator = _rrelu_args(*args, **kwargs)
    _no_generator(generator, "rrelu_")
    return F.rrelu(input, lower, upper, training, inplace=True)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """As torch.threshold (``nn.functional.threshold``)."""
    return F.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place threshold, as torch.threshold_."""
    return F.threshold(input, threshold, value, inplace=True)


def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> Tensor:
    """Rescale the rows of ``input`` (an embedding weight) that ``indices`` name to at most
    ``max_norm`` in the ``norm_type`` norm, in place, as torch.embedding_renorm_."""
    renorm_rows(input, indices._data, max_norm, norm_type)
    return input


__all__ = list(_METHOD_FORMS) + [
    "dropout_",
    "alpha_dropout",
    "alpha_dropout_",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
    "feature_dropout",
    "feature_dropout_",
    "celu",
    "celu_",
    "selu",
    "selu_",
    "rrelu",
    "rrelu_",
    "threshold",
    "threshold_",
    "embedding_renorm_",
]
