"""Duck-typed helpers for backward formulas: each works on a NumPy/CuPy array and on a Tensor,
so one backward serves plain training (arrays) and ``create_graph=True`` (Tensors).

On Tensors the elementwise helpers call the ops through Tensor's methods (``Tensor.exp`` is
``ops.unary.exp``, attached from the table in ``_tensor_methods.py``): the ops modules import
this one for their backward, so it cannot import them back.
"""

from __future__ import annotations

import numpy as np

from .._backend.cpu import select
from .._backend.xp import CPU_ARRAY, xp_of
from ..autograd.engine import grad as _grad
from ..dtypes import from_numpy_dtype
from ..tensor import Tensor, _wrap
from .creation import zeros_like as _zeros_like

_SMALL = 1 << 16  # below this many elements a broadcast gradient is materialised (faster)


def _is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def sum_to(g, shape: tuple):
    """Sum ``g`` over the dimensions that broadcasting added or stretched to reach ``shape``."""
    gs = g.shape
    if tuple(gs) == tuple(shape):
        return g
    nd = len(gs) - len(shape)
    if nd < 0:  # the input had extra leading 1s (a value broadcast into a smaller slot)
        g = g.reshape((1,) * -nd + tuple(gs))
        gs = g.shape
        nd = 0
    axes = tuple(range(nd)) + tuple(
        i + nd for i, s in enumerate(shape) if s == 1 and gs[i + nd] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if nd:
        g = g.reshape(shape)
    return g


def cast(g, npdtype):
    """``g`` in the given NumPy dtype (a no-op when it already is). A complex gradient of a real
    input is its real part, as torch's (taken explicitly: no ComplexWarning)."""
    if isinstance(g, Tensor):
        if g._data.dtype == npdtype:
            return g
        if g._data.dtype.kind == "c" and np.dtype(npdtype).kind != "c":
            g = g.real
        return g.to(from_numpy_dtype(npdtype))
    if g.dtype == npdtype:
        return g
    if g.dtype.kind == "c" and np.dtype(npdtype).kind != "c":
        g = g.real
    return g.astype(npdtype)


def grad_for(g, shape, npdtype):
    """The gradient of an input of ``shape``/``npdtype`` from a broadcast, promoted output grad."""
    g = sum_to(g, shape)
    if npdtype is not None:
        g = cast(g, npdtype)
    return g


def broadcast_to(g, shape):
    """``g`` broadcast to ``shape`` (a Tensor expands; a small array is written out)."""
    if isinstance(g, Tensor):
        return g.expand(*shape)
    if tuple(g.shape) == tuple(shape):
        return g
    xp = np if type(g) is CPU_ARRAY else xp_of(g)
    n = 1
    for s in shape:
        n *= s
    if n < _SMALL and (type(g) is CPU_ARRAY or xp is not np):  # not vmap's batched arrays
        out = xp.empty(shape, g.dtype)
        out[...] = g
        return out
    return xp.broadcast_to(g, shape)


def expand_reduced(g, shape, dims, keepdim: bool):
    """Undo a reduction over ``dims`` of a tensor of ``shape``: restore the dims, broadcast."""
    if not keepdim and dims is not None:
        for d in sorted(dims):
            g = g.unsqueeze(d) if _is_tensor(g) else xp_of(g).expand_dims(g, d)
    elif not keepdim and g.ndim:
        g = g.reshape((1,) * len(shape))
    return broadcast_to(g, shape)


def _fn(name):
    def f(x, *args):
        if isinstance(x, Tensor):
            return getattr(Tensor, name)(x, *args)
        return getattr(xp_of(x), name)(x, *args)

    f.__name__ = name
    return f


exp = _fn("exp")
log = _fn("log")
sqrt = _fn("sqrt")
cos = _fn("cos")
sin = _fn("sin")
sign = _fn("sign")
tanh = _fn("tanh")
cosh = _fn("cosh")
sinh = _fn("sinh")


def where(cond, a, b):
    if _is_tensor(a) or _is_tensor(b) or _is_tensor(cond):
        # Tensor.where(input, condition, other) is ops.compare.where(condition, input, other),
        # a plain function: ``a`` may be a scalar here
        return Tensor.where(a, cond, b)
    return select.where(cond, a, b)


def mT(x):
    """Swap the last two dimensions."""
    return x.swapaxes(-1, -2)


def zeros_like(x):
    if _is_tensor(x):
        return _zeros_like(x)
    return xp_of(x).zeros_like(x)


def as_array(x):
    """The raw array behind a Tensor (or the array itself)."""
    return x._data if _is_tensor(x) else x


def np_dtype(x):
    return as_array(x).dtype if hasattr(x, "dtype") else np.asarray(x).dtype


def scatter_to_planes(g: Tensor, idx, xshape, nsp: int) -> Tensor:
    """A max pooling's input gradient as Tensor ops (create_graph=True): g added at ``idx``, the
    maxima's flat positions within each input plane of the last ``nsp`` dims, into zeros of
    ``xshape``; a scatter_add, whose own gradient gathers."""
    lead = int(np.prod(xshape[:-nsp]))
    plane = int(np.prod(xshape[-nsp:]))
    gx = g.new_zeros((lead, plane)).scatter_add(
        1, _wrap(idx.reshape(lead, -1)), g.reshape(lead, -1)
    )
    return gx.reshape(xshape)


def regrad(ctx, forward, g) -> tuple:
    """An op's input gradients at ``g`` as a graph (create_graph=True), for ops whose backward
    works on arrays only: ``forward`` recomputes the op's output from its inputs (``ctx._inputs``,
    the Tensors and arguments it was applied to) in differentiable Tensor ops, and that is
    differentiated with create_graph=True, so the gradient can be differentiated again (torch's
    double backward). An op of several outputs passes their gradients as the tuple ``g``. The
    op keeps its array backward for plain training; it needs ``save_in`` naming its first
    tensor input and ``higher_order`` set, so that the node keeps ``_inputs``."""
    inputs = ctx._inputs
    needs = ctx._needs
    y = forward(*inputs)
    wrt = [a for a, n in zip(inputs, needs) if n]
    if isinstance(y, tuple):  # several outputs: g is their gradients, None where they have none
        pairs = [(o, go) for o, go in zip(y, g) if go is not None]
        y, g = [o for o, _ in pairs], [go for _, go in pairs]
    got = iter(_grad(y, wrt, g, create_graph=True, allow_unused=True))
    return tuple(next(got) if n else None for n in needs)
