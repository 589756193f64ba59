"""``autograd.Function``: user-defined ops with Tensor-level forward and backward, as torch."""

from __future__ import annotations

from typing import Any

from .. import tensor as _tensor
from .._backend.xp import xp_of
from .._grad_state import state as _gs
from ..tensor import Tensor, _wrap
from .engine import _FREED_MSG
from .grad_mode import no_grad
from .node import Node, _hooks_pushed, pack_function_saved, unpack_saved


class FunctionCtx:
    """What ``forward`` and ``backward`` receive as ``ctx``."""

    def save_for_backward(self, *tensors) -> None:
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        if getattr(self, "_freed", False):
            raise RuntimeError(_FREED_MSG)
        if self.__dict__.get("_packed") is not None:
            return unpack_saved(self, True)  # through the unpack hook on every access, as torch
        return getattr(self, "_saved", ())

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = {id(t) for t in tensors}

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = value


class _FunctionNode(Node, FunctionCtx):
    """The graph node of one call of a user Function; it is also that call's ctx."""

    _fn_cls = None

    def name(self) -> str:
        return self._fn_cls.__name__ + "Backward"

    @property
    def needs_input_grad(self) -> tuple:
        return self._needs

    def _run_backward(self, grads, create_graph: bool):
        gts = []
        for k, g in enumerate(grads):
            if g is None and getattr(self, "_materialize", True):
                xp, shape, dt = self._out_meta[k]
                g = xp.zeros(shape, dt)
            gts.append(None if g is None else (g if isinstance(g, Tensor) else _wrap(g)))
        if create_graph:
            res = self._fn_cls.backward(self, *gts)
        else:
            with no_grad():
                res = self._fn_cls.backward(self, *gts)
        if not isinstance(res, tuple):
            res = (res,)
        n_in = len(self._next)
        if len(res) < n_in:
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients (expected "
                f"{n_in}, got {len(res)})"
            )
        out = []
        for r, need in zip(res, self._needs):
            if r is None or not need:
                out.append(None)
            elif create_graph:
                out.append(r if isinstance(r, Tensor) else _wrap(r))
            else:
                out.append(r._data if isinstance(r, Tensor) else r)
        return tuple(out)


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._node_cls = type(name + "Backward", (_FunctionNode,), {"_fn_cls": cls})


class Function(metaclass=_FunctionMeta):
    """Subclass with ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` as staticmethods and
    call ``MyFn.apply(*args)``.

    >>> class Double(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         return x * 2
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         return g * 2
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for "
            "your custom autograd.Function to use it with backward mode AD."
        )

    vjp = backward

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Override (with a ctx-free forward) to save what backward needs, as torch 2."""
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = cls._node_cls()
        tensors = [a for a in args if isinstance(a, Tensor)]
        record = _gs.enabled and any(t._rg for t in tensors)
        ctx._needs = tuple(record and isinstance(a, Tensor) and a._rg for a in args)
        with no_grad():
            if cls.setup_context is not Function.setup_context:
                # torch 2's style: forward(*args) without ctx, then setup_context(ctx, ...)
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        dirty = ctx.__dict__.get("_dirty", ())
        if dirty:
            _check_dirty(dirty, outs, record)
        if not record:
            return out
        nxt, needs, nrs = [], [], []
        for a in args:
            if isinstance(a, Tensor) and a._rg:
                nxt.append(a.grad_fn if a.grad_fn is not None else a._accumulator())
                needs.append(True)
                nrs.append(a._out_nr)
            else:
                nxt.append(None)
                needs.append(False)
                nrs.append(0)
        ctx._next = tuple(nxt)
        ctx._needs = tuple(needs)
        if any(nrs):
            ctx._next_nr = tuple(nrs)
        ctx._nout = len(outs)
        ctx._out_meta = [
            (xp_of(o._data), o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None
            for o in outs
        ]
        non_diff = getattr(ctx, "_non_diff", set())
        res = []
        refresh = []
        for i, o in enumerate(outs):
            if (
                isinstance(o, Tensor)
                and id(o) not in non_diff
                and (o.is_floating_point() or o.is_complex())
            ):
                if any(o is d for d in dirty):
                    # changed in place (mark_dirty): the input itself takes this node as its
                    # history, as torch's, so later uses of it see the change
                    o.__dict__.pop("_out_nr", None)
                    if "_views" in o.__dict__:
                        refresh.append(o)
                elif any(o is t for t in tensors) or o.grad_fn is not None or o._rg:
                    o = _alias(o)  # an input returned as is gets a new identity in the graph
                o._rg = True
                o.grad_fn = ctx
                if i:
                    o._out_nr = i
            res.append(o)
        for o in refresh:  # after every output has its node: a view's new history is o's
            _tensor.refresh_views_of(o)
        if _hooks_pushed:
            pack_function_saved(ctx, outs, res)
        return res[0] if single else tuple(res)


class NestedIOFunction(Function):
    """The legacy Function with instance methods ``forward_extended``/``backward_extended``,
    kept as a name only: torch 2.13's cannot run either (its call reaches a removed method), so
    ember's refuses a call with a pointer to ``Function``."""

    def __call__(self, *args: Any) -> Any:
        raise RuntimeError(
            "NestedIOFunction is a legacy autograd function that cannot be called; subclass "
            "autograd.Function with static forward/backward and call .apply instead"
        )

    def forward_extended(self, *input: Any) -> Any:
        """The user's forward, on nested inputs."""
        raise NotImplementedError

    def backward_extended(self, *grad_output: Any) -> Any:
        """The user's backward, on nested gradients."""
        raise NotImplementedError


def _check_dirty(dirty, outs, record: bool) -> None:
    """torch's rules for the tensors a forward marked dirty (changed in place): each must be
    returned, each gets its version bumped, and with a graph recorded none may be a leaf that
    requires grad."""
    for d in dirty:
        if not any(d is o for o in outs):
            raise RuntimeError(
                "Some elements marked as dirty during the forward method were not returned as "
                "output. The inputs that are modified inplace must all be outputs of the "
                "Function."
            )
    for d in dirty:
        if record and d._rg and d.grad_fn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad has been used in an in-place operation."
            )
        d._bump()


def _alias(t):
    r = _wrap(t._data)
    r._vc = t._version_counter()
    return r


def once_differentiable(fn):
    return fn
