"""Activation checkpointing: run a function without keeping its intermediates and recompute them
in backward (as ``torch.utils.checkpoint``).

Both ``use_reentrant`` modes recompute the forward inside the backward of one graph node that
keeps only the inputs (and the RNG state), so the gradients equal those without checkpointing.
With ``use_reentrant=False`` the parameters of a checkpointed module are inputs of that node too,
so ``autograd.grad`` reaches them; other tensors the function reaches through its closure get
their gradients accumulated into ``.grad`` during that backward, as torch's reentrant variant
does for everything.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from typing import Any

from ..autograd.engine import backward as _backward
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, no_grad
from ..nn.modules.module import Module
from ..nn.utils.stateless import _reparametrize
from ..random import fork_rng, get_rng_state, set_rng_state
from ..tensor import Tensor

__all__ = [
    "checkpoint",
    "checkpoint_sequential",
    "CheckpointError",
    "CheckpointFunction",
    "detach_variable",
    "noop_context_fn",
]


class CheckpointError(RuntimeError):
    """Raised when a recomputation does not match the original forward."""


def noop_context_fn() -> tuple:
    """The default ``context_fn``: two do-nothing context managers."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs: tuple) -> tuple:
    """Detach each tensor of ``inputs``, keeping its ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(
            "Only tuple of tensors is supported. Got Unsupported input type: "
            f"{type(inputs).__name__}"
        )
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            d = x.detach()
            d.requires_grad_(x.requires_grad)
            out.append(d)
        else:
            out.append(x)
    return tuple(out)


class CheckpointFunction(Function):
    """The graph node of one checkpointed call: saves the inputs, recomputes in backward."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, recompute_ctx, n_args, slots, *args):
        ctx.run_function = run_function
        ctx.recompute_ctx = recompute_ctx
        ctx.rng_state = get_rng_state() if preserve_rng_state else None
        # Only the inputs are kept (and the module parameters named in ``slots``, which are
        # alive anyway); non-tensor arguments are held as they are.
        ctx.inputs = [None if isinstance(a, Tensor) else a for a in args[:n_args]]
        ctx.tensor_pos = [i for i, a in enumerate(args[:n_args]) if isinstance(a, Tensor)]
        ctx.slots = slots
        ctx.save_for_backward(*[args[i] for i in ctx.tensor_pos], *args[n_args:])
        with no_grad():
            return run_function(*args[:n_args])

    @staticmethod
    def backward(ctx, *grads):
        saved = ctx.saved_tensors
        n_t = len(ctx.tensor_pos)
        args = list(ctx.inputs)
        for i, t in zip(ctx.tensor_pos, saved[:n_t]):
            args[i] = _detached(t)
        # the named parameters are recomputed through detached stand-ins, so their gradients
        # flow back through this node (autograd.grad reaches them) instead of into .grad
        stand_ins = [_detached(p) for p in saved[n_t:]]
        per_module: dict = {}
        for (module, name), s in zip(ctx.slots, stand_ins):
            per_module.setdefault(id(module), (module, {}))[1][name] = s
        with contextlib.ExitStack() as stack:
            for module, tensors in per_module.values():
                stack.enter_context(_reparametrize(module, tensors, True, False))
            with fork_rng(enabled=ctx.rng_state is not None):
                if ctx.rng_state is not None:
                    set_rng_state(ctx.rng_state)
                with enable_grad(), ctx.recompute_ctx:
                    outs = ctx.run_function(*args)
        if not isinstance(outs, tuple):
            outs = (outs,)
        roots, root_grads = [], []
        for o, g in zip(outs, grads):
            if isinstance(o, Tensor) and o.requires_grad and g is not None:
                roots.append(o)
                root_grads.append(g)
        if not roots:
            raise RuntimeError(
                "none of output has requires_grad=True, this checkpoint() is not necessary"
            )
        _backward(roots, root_grads)
        in_grads = tuple(a.grad if isinstance(a, Tensor) else None for a in args)
        # run_function, preserve_rng_state, recompute_ctx, n_args, slots; the inputs; the
        # named parameters
        return (None,) * 5 + in_grads + tuple(s.grad for s in stand_ins)


class _TensorOutputs:
    """Wraps the checkpointed function so the graph node returns only its tensor outputs;
    ``join`` puts the other values (ints, None, ...) back in their places."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self.template: tuple | None = None

    def __call__(self, *args: Any) -> Any:
        out = self.fn(*args)
        if isinstance(out, tuple) and not all(isinstance(o, Tensor) for o in out):
            self.template = out
            return tuple(o for o in out if isinstance(o, Tensor))
        return out

    def join(self, res: Any) -> Any:
        if self.template is None:
            return res
        it = iter(res if isinstance(res, tuple) else (res,))
        return tuple(next(it) if isinstance(o, Tensor) else o for o in self.template)


def _detached(t: Tensor) -> Tensor:
    d = t.detach()
    d.requires_grad_(t.requires_grad)
    return d


def _named_params_of(fn: Any) -> tuple[list, list]:
    """(module, name) slots and the trainable parameters of the module (or the module of a
    bound method) that ``fn`` is."""
    owner = fn if isinstance(fn, Module) else getattr(fn, "__self__", None)
    if not isinstance(owner, Module):
        return [], []
    return _slots([owner])


def _slots(modules: list) -> tuple[list, list]:
    slots, params = [], []
    for m in modules:
        if isinstance(m, Module):
            for name, p in m.named_parameters():
                if p.requires_grad:
                    slots.append((m, name))
                    params.append(p)
    return slots, params


def _resolve_reentrant(use_reentrant: bool | None, where: str, message: str) -> bool:
    if use_reentrant is None:
        warnings.warn(
            f"{where}: the use_reentrant parameter should be passed explicitly. " + message,
            stacklevel=3,
        )
        return True
    return bool(use_reentrant)


def checkpoint(
    function: Callable,
    *args: Any,
    use_reentrant: bool | None = None,
    context_fn: Callable[[], tuple] = noop_context_fn,
    determinism_check: str = "default",
    debug: bool = False,
    early_stop: bool = True,
    **kwargs: Any,
) -> Any:
    """Run ``function(*args)`` keeping only its inputs; recompute it during backward.

    As torch 2.13: ``use_reentrant`` left unset warns and means True; ``preserve_rng_state``
    (default True) replays the random state so dropout draws the same mask.
    """
    reentrant = _resolve_reentrant(
        use_reentrant,
        "torch.utils.checkpoint",
        "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
        "exception. use_reentrant=False is recommended, but if you need to preserve the current "
        "default behavior, you can pass use_reentrant=True. Refer to docs for more details on "
        "the differences between the two variants.",
    )
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if determinism_check not in ("default", "none"):
        raise ValueError(
            f"determinism_check should be one of ['default', 'none'], but got {determinism_check}"
        )
    if reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError(
                "Passing `context_fn` or `debug` is only supported when use_reentrant=False."
            )
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn(
                "None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2
            )
        slots: list = []
        extra: list = []
        recompute_ctx = contextlib.nullcontext()
        fn = function
    else:
        fwd_ctx, recompute_ctx = context_fn()
        # The module's parameters join the node's inputs so that the output requires grad
        # when they do, even if no argument does (torch's non-reentrant behaviour).
        slots, extra = _named_params_of(function)

        def fn(*a):
            return function(*a, **kwargs)

        with fwd_ctx:
            run = _TensorOutputs(fn)
            res = CheckpointFunction.apply(
                run, preserve, recompute_ctx, len(args), slots, *args, *extra
            )
            return run.join(res)
    run = _TensorOutputs(fn)
    res = CheckpointFunction.apply(run, preserve, recompute_ctx, len(args), slots, *args, *extra)
    return run.join(res)


def checkpoint_sequential(
    functions: Any, segments: int, input: Tensor, use_reentrant: bool | None = None, **kwargs: Any
) -> Any:
    """Run a sequence of modules in ``segments`` chunks, checkpointing all but the last chunk."""
    reentrant = _resolve_reentrant(
        use_reentrant,
        "torch.utils.checkpoint.checkpoint_sequential",
        "In version 2.9 we will raise an exception if use_reentrant is not passed. "
        "use_reentrant=False is recommended, but if you need to preserve the current default "
        "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
        "differences between the two variants.",
    )
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if isinstance(functions, Module):
        functions = list(functions.children())
    functions = list(functions)

    def run_function(start: int, end: int, fns: list) -> Callable:
        def forward(x):
            for j in range(start, end + 1):
                x = fns[j](x)
            return x

        return forward

    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        seg = run_function(start, end, functions)
        if not reentrant:
            # The segment's parameters make its output require grad (see checkpoint).
            slots, params = _slots(functions[start : end + 1])
            input = CheckpointFunction.apply(
                seg, preserve, contextlib.nullcontext(), 1, slots, input, *params
            )
        else:
            input = checkpoint(seg, input, use_reentrant=True, preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)
