"""Activation checkpointing: run a function without keeping its intermediates and recompute them
in backward (as ``torch.utils.checkpoint``).

Both ``use_reentrant`` modes recompute the forward inside the backward of one graph node that
keeps only the inputs (and the RNG state), so the gradients equal those without checkpointing.
With ``use_reentrant=False`` the parameters of a checkpointed module are inputs of that node too,
so ``autograd.grad`` reaches them; other tensors the function reaches through its closure get
their gradients accumulated into ``.grad`` during that backward, as torch's reentrant variant
does for everything.

Selective checkpointing (``create_selective_checkpoint_contexts``) sees each op call through an
op mode of ``autograd.node``: the forward then runs with grad on, as the recomputation does, so
both see the same calls; an op the policy saves is replayed in backward from what its forward
stored (its node recorded, its forward not run again).
"""

from __future__ import annotations

import contextlib
import enum
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..autograd import node as _node
from ..autograd.engine import backward as _backward
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
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
    "check_backward_validity",
    "get_device_states",
    "set_device_states",
    "set_checkpoint_early_stop",
    "set_checkpoint_debug_enabled",
    "DefaultDeviceType",
    "CheckpointPolicy",
    "SelectiveCheckpointContext",
    "create_selective_checkpoint_contexts",
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
        # under selective checkpointing the forward runs as the recomputation will (grad on), so
        # both take the same paths through the ops and see the same op calls
        selective = isinstance(recompute_ctx, _CachedMode)
        with enable_grad() if selective else no_grad():
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


# --- the torch.utils.checkpoint helpers --------------------------------------------------------

_early_stop = True
_debug_enabled: bool | None = None


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool) -> Iterator[None]:
    """Whether non-reentrant recomputation may stop once it has what backward needs (default
    True). ember's recomputation always runs the whole function, which gives the same
    gradients, so the switch is only recorded."""
    global _early_stop
    prev, _early_stop = _early_stop, enable
    try:
        yield
    finally:
        _early_stop = prev


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled: bool | None) -> Iterator[None]:
    """Override ``checkpoint(debug=)`` in the block (None: defer to it). ember's checkpoint keeps
    no operator trace to print, so the switch is only recorded."""
    global _debug_enabled
    prev, _debug_enabled = _debug_enabled, enabled
    try:
        yield
    finally:
        _debug_enabled = prev


def check_backward_validity(inputs: Iterable[Any]) -> None:
    """Warn, as torch, when no tensor of ``inputs`` requires grad."""
    if not any(a.requires_grad for a in inputs if isinstance(a, Tensor)):
        warnings.warn(
            "None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2
        )


def get_device_states(*args: Any) -> tuple[list[int], list[Tensor]]:
    """The accelerator ids of the tensors in ``args`` and their RNG states. ember's random
    streams are the host generator's (``fork_rng`` saves it), so both lists are empty, as torch's
    for CPU tensors."""
    return [], []


def set_device_states(devices: list, states: list, *, device_type: str | None = None) -> None:
    """Restore the per-device RNG states of ``get_device_states``: nothing to restore in ember
    (see ``get_device_states``)."""


class DefaultDeviceType:
    """The device type checkpointing uses when no argument is on an accelerator."""

    _default_device_type: str | None = None

    @staticmethod
    def set_device_type(device: str = "cuda") -> None:
        """Set the default device type."""
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type() -> str:
        """The default device type: the one set, else "cpu" (ember's checkpoint keeps the host
        generator's state only)."""
        if not DefaultDeviceType._default_device_type:
            DefaultDeviceType._default_device_type = "cpu"
        return DefaultDeviceType._default_device_type


# --- selective activation checkpointing --------------------------------------------------------


class CheckpointPolicy(enum.Enum):
    """What selective checkpointing does with an op's output: keep it from the forward (SAVE) or
    compute it again in backward (RECOMPUTE). ember treats MUST and PREFER alike, as torch's
    eager mode, and the CPU_OFFLOAD policies as SAVE (its arrays are on the host already)."""

    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


_SAVE = (
    CheckpointPolicy.MUST_SAVE,
    CheckpointPolicy.PREFER_SAVE,
    CheckpointPolicy.MUST_CPU_OFFLOAD,
    CheckpointPolicy.PREFER_CPU_OFFLOAD,
)
_MISMATCH = (
    "This can happen if the operations in the checkpointed region are nondeterministic or "
    "depend on global state that changed between forward and backward."
)


class SelectiveCheckpointContext:
    """What the policy function gets first: ``is_recompute`` (always False: as torch 2.13, the
    policy is asked in the forward only) and ``op_output``, the op's result."""

    def __init__(self, *, is_recompute: bool, op_output: Any = None) -> None:
        self.is_recompute = is_recompute
        self.op_output = op_output


class _RecomputeMarker:
    def __repr__(self) -> str:
        return "<recompute>"


_RECOMPUTE = _RecomputeMarker()
_CONSUMED = _RecomputeMarker()


def _versions(out: Any) -> list:
    outs = out if isinstance(out, tuple) else (out,)
    return [(t, t._version) for t in outs if isinstance(t, Tensor)]


class _SACMode:
    """Enters as an op mode of ``autograd.node``; subclasses see each op call in ``run_op``."""

    def __enter__(self) -> _SACMode:
        _node.push_op_mode(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _node.pop_op_mode()


class _CachingMode(_SACMode):
    """The forward side: runs each op, asks the policy, and keeps what it says to save."""

    def __init__(self, policy_fn: Callable, storage: dict) -> None:
        self.policy_fn = policy_fn
        self.storage = storage
        self.counter: dict = defaultdict(int)

    def run_op(self, cls: type, inputs: tuple, proceed: Callable) -> Any:
        if any(isinstance(a, Tensor) and a._rg for a in inputs) and is_grad_enabled():
            out = proceed()
            outs = out if isinstance(out, tuple) else (out,)
            recorded = isinstance(outs[0], Tensor) and outs[0].grad_fn is not None
            captured = _node.captured_of(out) if recorded else None
        else:
            out, captured = _node.capture_op(cls, inputs)
        idx = self.counter[cls]
        self.counter[cls] += 1
        policy = self.policy_fn(
            SelectiveCheckpointContext(is_recompute=False, op_output=out), cls, *inputs
        )
        if isinstance(policy, bool):  # torch's older API: True saves
            policy = CheckpointPolicy.MUST_SAVE if policy else CheckpointPolicy.PREFER_RECOMPUTE
        if policy in _SAVE and captured is not None:
            self.storage[cls][idx] = (captured, _versions(out))
        else:
            self.storage[cls][idx] = _RECOMPUTE
        return out


class _CachedMode(_SACMode):
    """The recomputation side: ops the policy saved come from the storage (their node is
    recorded without running their forward), the others run again."""

    def __init__(self, storage: dict, allow_cache_entry_mutation: bool) -> None:
        self.storage = storage
        self.allow_mutation = allow_cache_entry_mutation
        self.counter: dict = defaultdict(int)

    def __enter__(self) -> _CachedMode:
        self.counter.clear()  # each backward replays from the first call
        return super().__enter__()

    def run_op(self, cls: type, inputs: tuple, proceed: Callable) -> Any:
        idx = self.counter[cls]
        self.counter[cls] += 1
        entries = self.storage.get(cls)
        if entries is None:
            raise RuntimeError(
                f"{_op_name(cls)} encountered during backward but not found in storage. "
                + _MISMATCH
            )
        entry = entries.get(idx)
        if entry is None:
            raise RuntimeError(
                f"{_op_name(cls)} invocation index {idx} encountered during backward but not "
                "found in storage. " + _MISMATCH
            )
        if entry is _CONSUMED:
            raise RuntimeError(
                "Trying to backward an extra time. You are only allowed to backward once on any "
                "region computed under selective activation checkpoint."
            )
        if entry is _RECOMPUTE:
            return proceed()
        captured, versions = entry
        if not self.allow_mutation and any(t._version != v for t, v in versions):
            raise RuntimeError(
                "Tensor cached during selective activation checkpoint has been mutated"
            )
        entries[idx] = _CONSUMED
        return _node.replay_op(cls, inputs, captured)


def _op_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def create_selective_checkpoint_contexts(
    policy_fn_or_list: Callable | list, allow_cache_entry_mutation: bool = False
) -> tuple:
    """The ``context_fn`` pair of selective activation checkpointing: in
    ``checkpoint(fn, ..., use_reentrant=False, context_fn=partial(
    create_selective_checkpoint_contexts, policy))`` the ops ``policy`` saves are not run again
    in backward; the gradients are unchanged.

    ``policy`` is ``policy_fn(ctx, op, *args)`` returning a ``CheckpointPolicy`` (or a bool), or
    a list of ops to save (the rest are recomputed). ember has no ATen operators: ``op`` is
    the ember op class (an ``ember.autograd.node.Op`` subclass, e.g. ``ember.ops.linalg.MatMul``;
    ``op.__name__`` names it) and ``args`` are that op's arguments; ops of
    ``autograd.Function`` subclasses are not seen. As torch, a saved output mutated in place
    before backward raises unless ``allow_cache_entry_mutation``, and a second backward through
    the region raises.
    """
    if isinstance(policy_fn_or_list, list):
        for op in policy_fn_or_list:
            if not (isinstance(op, type) and issubclass(op, _node.Op)):
                raise ValueError(
                    f"Expected op in `op_list` to be an ember op class (an autograd.node.Op "
                    f"subclass) but got: {op} of type {type(op)}. "
                )
        ops = tuple(policy_fn_or_list)

        def policy_fn(ctx: SelectiveCheckpointContext, op: type, *args: Any, **kwargs: Any):
            return CheckpointPolicy.MUST_SAVE if op in ops else CheckpointPolicy.PREFER_RECOMPUTE

    elif callable(policy_fn_or_list):
        policy_fn = policy_fn_or_list
    else:
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    storage: dict = defaultdict(dict)
    return _CachingMode(policy_fn, storage), _CachedMode(storage, allow_cache_entry_mutation)
