"""Graph nodes: the recorded operations that backward walks (a tensor's ``grad_fn``).

An op is a subclass of :class:`Op` with ``forward(ctx, *arrays)`` and ``backward(ctx, *grads)``
side by side; the instance created for one call is both the ``ctx`` and the graph node.
Backward runs on raw arrays (NumPy or CuPy) so eager training stays fast; with
``create_graph=True`` the engine hands the same backward Tensors instead, so ops whose backward
uses only operators and the duck-typed helpers in ``ember.ops._bw`` get higher-order gradients.
"""

from __future__ import annotations

import threading
import weakref
from typing import NamedTuple

from .._backend.xp import CPU_ARRAY, cupy_array_type, xp_of
from .._grad_state import state as _grad_state
from .._tensor_errors import device_error
from ..tensor import Tensor, _wrap, _wrap_node
from .hooks import RemovableHandle

_new = object.__new__

# While a profile records (``set_recorder``) or an op mode is pushed (``push_op_mode``), _prof is
# the object that runs each op call and _profiling is True; the entry points below then cost one
# module-global check when neither is active.
_profiling = False
_prof = None
_recorder = None  # the profiler's recorder while a profile records
_mode_count = 0  # op modes pushed in all threads

# Saved-tensor hooks (ember.autograd.graph.saved_tensors_hooks): one entry per (pack, unpack) pair
# pushed in any thread. The recording paths test only this list, so without hooks they pay one
# global read per op; the pairs themselves sit in a thread-local stack, as torch keeps them.
_hooks_pushed: list = []


class Node:
    """Base of everything that can appear as a ``grad_fn`` or in ``next_functions``."""

    _next: tuple = ()
    _nout = 1
    _pre_hooks = None  # {output index: [hooks]} from Tensor.register_hook on non-leaf outputs
    _hooks = None  # [hooks] called after the node ran, as torch's Node.register_hook
    _freed = False
    _next_nr = None  # output index of each next node, when one is not 0
    _retain = None  # {output index: weakref to a tensor whose .grad retain_grad() keeps}
    _nin = None  # how many leading arguments torch counts as inputs (None: up to the last Tensor)
    _packed = None  # a Packed: what saved-tensor hooks made of its saved values

    def name(self) -> str:
        return type(self).__name__

    def _n_inputs(self) -> int:
        nin = self._nin
        if nin is None:
            nin = self.__dict__.get("_ntens", len(self._next))
        return nin

    @property
    def next_functions(self) -> tuple:
        nrs = self._next_nr or (0,) * len(self._next)
        n = self._n_inputs()
        return tuple((nd, k) for nd, k in zip(self._next[:n], nrs[:n]))

    @property
    def metadata(self) -> dict:
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self.__dict__["_metadata"] = {}
        return d

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) after this node computed its input gradients."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn):
        """fn(grad_outputs) -> new grad_outputs or None, before this node runs."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        lst = self._pre_hooks.setdefault("all", [])
        lst.append(fn)
        return RemovableHandle(lst, fn)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"


class AccumulateGrad(Node):
    """The sink of a leaf tensor that requires grad: adds the incoming gradient to ``.grad``."""

    post_hooks = None

    def __init__(self, tensor):
        self._ref = weakref.ref(tensor)
        self.leaf_hooks = []

    @property
    def variable(self):
        return self._ref()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"


class Op(Node):
    """An ember op: subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grads)`` on
    arrays. Class attributes: ``save_in`` (indices of inputs whose values backward reads, for
    the in-place version check), ``cross_save`` (those of them a binary op's backward reads
    only for the other input's gradient: checked only when the other input requires grad, as
    torch saves them), ``save_out`` (backward reads the output), ``higher_order`` (backward is
    written duck-typed, so create_graph gives a graph through it), ``adjoint`` (the op is
    linear in its input of that index, its backward the exact transpose: create_graph records
    the gradient as a ``LinearAdjoint``; forward sets ``ctx.args``, its arguments with None
    for that input and the linear part's parameters, e.g. a constant pad's value as 0),
    ``grad_reads_input`` (torch's backward kernel takes the op's input, so under create_graph
    its gradients carry a graph to that input even where they are piecewise constant in it:
    a ``ZeroLink`` gives ember's the same; a tuple names the gradients it applies to; an
    instance may set it per call)."""

    save_in: tuple = ()
    cross_save: tuple = ()
    save_out = False
    higher_order = False
    adjoint: int | None = None
    grad_reads_input: bool | tuple = False
    saved: tuple = ()
    _vchk = None  # [(version counter, version at save, tensor, input index)]
    _outchk = None  # the output's version counter, when backward reads the output

    def save_for_backward(self, *arrays) -> None:
        self.saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        return self.saved

    @property
    def needs_input_grad(self) -> tuple:
        return self._needs

    _bname = None  # torch's name for this node where it differs from "<Class>Backward0"

    def name(self) -> str:
        return self._bname or type(self).__name__ + "Backward0"

    @classmethod
    def apply(cls, *args):
        """Run the op: record a node when grad mode is on and a tensor input requires grad."""
        if _profiling and _prof.enter(cls):
            return _prof.run_op(cls, cls.apply, args, args)
        if _grad_state.enabled:
            for a in args:
                if isinstance(a, Tensor) and a._rg:
                    return _apply_recording(cls, args)
        ctx = _new(cls)
        try:
            out = cls.forward(ctx, *[a._data if isinstance(a, Tensor) else a for a in args])
        except Exception as e:
            raise _device_mix(args) or e from None
        if type(out) is tuple:
            return tuple(_wrap(o) for o in out)
        return _wrap(out)


def _apply_recording(cls, args, forward=None):
    if _profiling and forward is None and _prof.enter(cls):
        return _prof.run_op(cls, _apply_recording, (cls, args), args)
    ctx = _new(cls)
    n = len(args)
    arrays = [None] * n
    nxt = [None] * n
    needs = [False] * n
    nrs = None
    last = -1
    for j in range(n):
        a = args[j]
        if isinstance(a, Tensor):
            last = j
            arrays[j] = a._data
            if a._rg:
                fn = a.grad_fn
                if fn is None:
                    fn = a._accum
                    if fn is None:
                        fn = a._accumulator()
                nxt[j] = fn
                needs[j] = True
                if a._out_nr:
                    if nrs is None:
                        nrs = [0] * n
                    nrs[j] = a._out_nr
        else:
            arrays[j] = a
    d = ctx.__dict__
    d["_next"] = tuple(nxt)
    d["_needs"] = tuple(needs)
    if last + 1 != n:
        d["_ntens"] = last + 1
    if nrs is not None:
        d["_next_nr"] = tuple(nrs)
    if cls.save_in:
        chk = []
        for i in cls.save_in:
            a = args[i]
            if isinstance(a, Tensor):
                vc = a._vc
                if vc is None:
                    vc = a._vc = [0]
                chk.append((vc, vc[0], a, i))
        ctx._vchk = chk
        if cls.higher_order:
            ctx._inputs = args
    try:
        out = (forward or cls.forward)(ctx, *arrays)
    except Exception as e:
        raise _device_mix(args) or e from None
    if type(out) is tuple:
        ctx._nout = len(out)
        ctx._out_meta = [(xp_of(o), o.shape, o.dtype) for o in out]
        res = tuple(_wrap_node(o, ctx, i) for i, o in enumerate(out))
        if cls.save_out and cls.higher_order:
            # create_graph: the backward's formula then reads these outputs as Tensors (their
            # dependence on the inputs is what a second derivative differentiates)
            ctx._outref = tuple(weakref.ref(r) for r in res)
            ctx._outarr = out
        if _hooks_pushed:
            _pack_saved(ctx, args, res, True)
        return res
    res = _wrap_node(out, ctx, 0)
    if cls.save_out:
        vc = res._vc = [0]
        ctx._outchk = vc
        if cls.higher_order:
            ctx._outref = weakref.ref(res)
            ctx._outarr = out
    if _hooks_pushed:
        _pack_saved(ctx, args, (res,), cls.save_out)
    return res


_TRUE1 = (True,)


def record1(cls, t, *extra):
    """``cls.apply(t, *extra)`` for a one-tensor op when a graph is recorded (the common case,
    made short)."""
    if _profiling and _prof.enter(cls):
        return _prof.run_op(cls, record1, (cls, t) + extra, (t,) + extra)
    ctx = _new(cls)
    fn = t.grad_fn
    if fn is None:
        fn = t._accum
        if fn is None:
            fn = t._accumulator()
    d = ctx.__dict__
    if extra:
        d["_next"] = (fn,) + (None,) * len(extra)
        d["_needs"] = (True,) + (False,) * len(extra)
        d["_ntens"] = 1
    else:
        d["_next"] = (fn,)
        d["_needs"] = _TRUE1
    if t._out_nr:
        d["_next_nr"] = (t._out_nr,) + (0,) * len(extra)
    if cls.save_in:
        vc = t._vc
        if vc is None:
            vc = t._vc = [0]
        d["_vchk"] = [(vc, vc[0], t, 0)]
        if cls.higher_order:
            d["_inputs"] = (t,)
    out = cls.forward(ctx, t._data, *extra)
    if type(out) is tuple:
        return _apply_recording(cls, (t,) + extra)  # multi-output ops take the general path
    res = _wrap_node(out, ctx, 0)
    if cls.save_out:
        vc = res._vc = [0]
        d["_outchk"] = vc
        if cls.higher_order:
            d["_outref"] = weakref.ref(res)
            d["_outarr"] = out
    if _hooks_pushed:
        _pack_saved(ctx, (t,) + extra, (res,), cls.save_out)
    return res


def record_inplace(cls, t, saved: tuple) -> Op:
    """Make a node of ``cls`` the history of ``t``, which a one-tensor op has just overwritten
    in place (its version already bumped): the node's edge is ``t``'s previous history, its
    saved arrays ``saved`` (``t``'s memory among them, as the op's output), and backward checks
    that ``t`` has not changed since (torch's error if it has). ``t`` must not be a leaf.
    Returns the node."""
    ctx = _new(cls)
    d = ctx.__dict__
    d["_next"] = (t.grad_fn,)
    d["_needs"] = _TRUE1
    if t._out_nr:
        d["_next_nr"] = (t._out_nr,)
        t.__dict__.pop("_out_nr", None)
    vc = t._vc
    d["_vchk"] = [(vc, vc[0], t, 0)]
    ctx.saved = saved
    if cls.higher_order:
        d["_outref"] = weakref.ref(t)
        d["_outarr"] = t._data
    t.grad_fn = ctx
    t._rg = True
    if _hooks_pushed:
        _pack_saved(ctx, (), (t,), True)  # what it saved of t's memory is its output
    return ctx


def _edge(t):
    fn = t.grad_fn
    if fn is None:
        fn = t._accum
        if fn is None:
            fn = t._accumulator()
    return fn


def record2(cls, a, b, extra):
    """``cls.apply(a, b, extra)`` for a binary op when a graph is recorded; ``a``/``b`` are
    Tensors or scalars."""
    if _profiling and _prof.enter(cls):
        return _prof.run_op(cls, record2, (cls, a, b, extra), (a, b, extra))
    if cls.save_out:
        return _apply_recording(cls, (a, b, extra))
    ctx = _new(cls)
    d = ctx.__dict__
    ta = isinstance(a, Tensor)
    tb = isinstance(b, Tensor)
    ra = ta and a._rg
    rb = tb and b._rg
    d["_next"] = (_edge(a) if ra else None, _edge(b) if rb else None, None)
    d["_needs"] = (ra, rb, False)
    d["_ntens"] = 2 if tb else 1
    if (ra and a._out_nr) or (rb and b._out_nr):
        d["_next_nr"] = (a._out_nr if ra else 0, b._out_nr if rb else 0, 0)
    if cls.save_in:
        chk = []
        cross = cls.cross_save
        if ta and (rb or 0 not in cross):
            vc = a._vc
            if vc is None:
                vc = a._vc = [0]
            chk.append((vc, vc[0], a, 0))
        if tb and (ra or 1 not in cross):
            vc = b._vc
            if vc is None:
                vc = b._vc = [0]
            chk.append((vc, vc[0], b, 1))
        d["_vchk"] = chk
        if cls.higher_order:
            d["_inputs"] = (a, b, extra)
    try:
        out = cls.forward(ctx, a._data if ta else a, b._data if tb else b, extra)
    except Exception as e:
        raise _device_mix((a, b)) or e from None
    res = _wrap_node(out, ctx, 0)
    if _hooks_pushed:
        _pack_saved(ctx, (a, b, extra), (res,), False)
    return res


def _device_mix(args):
    """torch's error when an op failed because its tensors live on different devices (None
    when they do not: the original error stands). CPU 0-d tensors may join any device."""
    first = None
    for a in args:
        if isinstance(a, (list, tuple)):
            err = _device_mix(a)
            if err is not None:
                return err
            continue
        if not isinstance(a, Tensor) or (a.is_cpu and a._data.ndim == 0):
            continue
        if first is None:
            first = a
        elif a.device != first.device:
            return device_error(first._data, a._data)
    return None


class LinearAdjoint(Op):
    """The gradient of an op linear in one input (``Op.adjoint``) as a node of its own, for
    create_graph=True: forward is that op's array backward at g; backward is the op applied
    again at the incoming gradient (a linear map's adjoint's adjoint is the map), recorded as
    any op call, so every further derivative exists."""

    higher_order = True

    def name(self) -> str:
        return self.node.name()

    @staticmethod
    def forward(ctx, g, node, i):
        ctx.node = node
        ctx.i = i
        r = node.backward(node, g)
        return r[i] if type(r) is tuple else r

    @staticmethod
    def backward(ctx, gg):
        node = ctx.node
        args = list(node.args)
        if isinstance(gg, Tensor):  # create_graph=True again: recorded
            args[ctx.i] = gg
            return type(node).apply(*args), None, None
        args[ctx.i] = _wrap(gg)
        prev = _grad_state.enabled
        _grad_state.enabled = False
        try:
            return type(node).apply(*args)._data, None, None
        finally:
            _grad_state.enabled = prev


class ZeroLink(Node):
    """Ties a gradient computed under create_graph=True without a graph (ReLU's, a pool's: a
    constant slope times a constant incoming gradient) to the inputs of the op that computed it,
    with a zero derivative, as torch's backward kernels that take the input do: the gradient
    then requires grad, and differentiating it again gives zeros rather than an error. ``metas``
    gives each input's (array module, shape, dtype), None for those without a gradient."""

    def __init__(self, node: Op, metas: list):
        self.what = node.name()
        self._next = node._next
        self._next_nr = node._next_nr
        self._metas = metas

    def name(self) -> str:
        return self.what

    def _run_backward(self, grads, create_graph: bool) -> tuple:
        out = []
        for m in self._metas:
            if m is None:
                out.append(None)
                continue
            z = m[0].zeros(m[1], m[2])
            out.append(_wrap(z) if create_graph else z)
        return tuple(out)


def link_to_inputs(node: Op, res: tuple) -> tuple:
    """``res`` (an op's input gradients under create_graph=True) with each gradient that has no
    graph tied to the op's inputs by a ``ZeroLink`` (see ``Op.grad_reads_input``: True for every
    gradient, or the indices of those whose torch formula reads the inputs)."""
    which = node.grad_reads_input
    tie = [
        isinstance(r, Tensor) and not r._rg and (which is True or i in which)
        for i, r in enumerate(res)
    ]
    if not any(tie):
        return res
    needs = node._needs
    metas = [
        (xp_of(r._data), r._data.shape, r._data.dtype)
        if isinstance(r, Tensor) and i < len(needs) and needs[i]
        else None
        for i, r in enumerate(res)
    ]
    if all(m is None for m in metas):
        return res
    link = ZeroLink(node, metas)
    return tuple(_wrap_node(r._data, link, 0) if t else r for r, t in zip(res, tie))


class NotDifferentiableTwice(Node):
    """Stands where an op's backward was taken with create_graph=True but has no graph-building
    form: reaching it in a further backward raises instead of giving a silently wrong answer."""

    def __init__(self, what: str, nxt: tuple):
        self.what = what
        self._next = nxt

    def name(self) -> str:
        return "NotDifferentiableTwice"


class GradientEdge(NamedTuple):
    """An edge of the graph: the node a gradient flows into and which of that node's outputs it
    is (``torch.autograd.graph.GradientEdge``; ``autograd.grad`` and ``backward`` accept one
    where they take a tensor)."""

    node: Node
    output_nr: int
    ownership_token: object = None


# --- op modes: code that sees every op call of its thread (selective checkpointing) ---------


class _OpModes(threading.local):
    def __init__(self) -> None:
        self.stack = []  # this thread's modes, the innermost last
        self.op = None  # the op class whose call the modes are running (not to be seen twice)


_op_modes = _OpModes()


def _refresh_dispatch() -> None:
    global _prof, _profiling
    if _mode_count:
        _prof, _profiling = _ModeDispatch, True
    else:
        _prof, _profiling = _recorder, _recorder is not None


def set_recorder(recorder) -> None:
    """Make ``recorder`` (the profiler's, with ``enter(cls)`` and ``run_op(cls, fn, args,
    inputs)``) see every op call, or none with None."""
    global _recorder
    _recorder = recorder
    _refresh_dispatch()


def push_op_mode(mode) -> None:
    """Run every op call of this thread through ``mode.run_op(cls, inputs, proceed)`` until
    ``pop_op_mode``: ``inputs`` are the op's ``apply`` arguments, ``proceed()`` computes it as
    usual (through any outer mode and the profiler) and ``mode`` returns the op's result."""
    global _mode_count
    _op_modes.stack.append(mode)
    _mode_count += 1
    _refresh_dispatch()


def pop_op_mode() -> None:
    """Undo this thread's last ``push_op_mode``."""
    global _mode_count
    _op_modes.stack.pop()
    _mode_count -= 1
    _refresh_dispatch()


class _ModeDispatch:
    """What _prof is while op modes are pushed: the thread's modes, innermost first, then the
    profiler's recorder."""

    @staticmethod
    def enter(cls) -> bool:
        if _op_modes.stack and _op_modes.op is not cls:
            return True
        return _recorder is not None and _recorder.enter(cls)

    @staticmethod
    def run_op(cls, fn, args, inputs):
        tls = _op_modes
        stack = tls.stack
        if not stack or tls.op is cls:  # only the recorder wanted this call
            return _recorder.run_op(cls, fn, args, inputs)

        def call(i):
            if i < 0:
                if _recorder is not None and _recorder.enter(cls):
                    return _recorder.run_op(cls, fn, args, inputs)
                return fn(*args)
            return stack[i].run_op(cls, inputs, lambda: call(i - 1))

        prev = tls.op
        tls.op = cls
        try:
            return call(len(stack) - 1)
        finally:
            tls.op = prev


# what the recording paths set on a node (its edges and checks), as opposed to what its op's
# forward saved
_GRAPH_FIELDS = frozenset(
    (
        "_next",
        "_needs",
        "_ntens",
        "_next_nr",
        "_vchk",
        "_inputs",
        "_nout",
        "_out_meta",
        "_outchk",
        "_outref",
        "_outarr",
        "_packed",
        "_hooks",
        "_pre_hooks",
    )
)


def capture_op(cls, args: tuple):
    """Run op ``cls`` on ``args`` (its ``apply`` arguments) without recording a node, as if every
    tensor input required grad; return (its output(s), what its forward stored on its ctx) for
    ``replay_op``."""
    ctx = _new(cls)
    ctx._needs = tuple(isinstance(a, Tensor) for a in args)
    out = cls.forward(ctx, *[a._data if isinstance(a, Tensor) else a for a in args])
    fields = {k: v for k, v in ctx.__dict__.items() if k not in _GRAPH_FIELDS}
    if type(out) is tuple:
        return tuple(_wrap(o) for o in out), (fields, out)
    return _wrap(out), (fields, out)


def captured_of(out):
    """What ``capture_op`` keeps, from the output(s) of an op call that recorded a node."""
    outs = out if type(out) is tuple else (out,)
    ctx = outs[0].grad_fn
    fields = {k: v for k, v in ctx.__dict__.items() if k not in _GRAPH_FIELDS}
    arrays = tuple(o._data for o in outs) if type(out) is tuple else out._data
    return fields, arrays


def replay_op(cls, args: tuple, captured):
    """Op ``cls`` on ``args`` from what ``capture_op`` kept, without running its forward again:
    the node is recorded as ``cls.apply`` would (the gradients are those of a fresh forward)."""
    fields, out = captured
    if _grad_state.enabled and any(isinstance(a, Tensor) and a._rg for a in args):

        def forward(ctx, *arrays):
            ctx.__dict__.update(fields)
            return out

        return _apply_recording(cls, args, forward)
    if type(out) is tuple:
        return tuple(_wrap(o) for o in out)
    return _wrap(out)


# --- saved-tensor hooks: packing when an op records, unpacking when backward runs ------------


class _HookStacks(threading.local):
    def __init__(self):
        self.hooks = []  # this thread's (pack, unpack) pairs, the innermost last
        self.disabled = []  # messages of the enclosing disable_saved_tensors_hooks blocks


_stacks = _HookStacks()


def push_saved_tensors_hooks(pack_hook, unpack_hook) -> None:
    """Make (pack_hook, unpack_hook) the innermost pair of this thread."""
    if _stacks.disabled:
        raise RuntimeError(_stacks.disabled[-1])
    _stacks.hooks.append((pack_hook, unpack_hook))
    _hooks_pushed.append(None)


def pop_saved_tensors_hooks() -> None:
    """Undo the last push_saved_tensors_hooks of this thread."""
    _stacks.hooks.pop()
    _hooks_pushed.pop()


def push_hooks_disabled(message: str) -> None:
    """Refuse saved-tensor hooks in this thread with ``message`` until pop_hooks_disabled; like
    torch, refused at once while hooks are in effect."""
    if _stacks.hooks:
        raise RuntimeError(message)
    _stacks.disabled.append(message)


def pop_hooks_disabled() -> None:
    """Undo the last push_hooks_disabled of this thread."""
    _stacks.disabled.pop()


_SELF = object()  # a packed slot's edge when the value is an output of the node that saved it

_PACK_INPLACE_MSG = (
    "A saved tensor pack hook is modifying its input in place. Tensors provided as input to pack "
    "hook cannot be modified by in-place operations as this can lead to unexpected side-effects. "
    "Please open an issue if you need to perform in-place operations on the input to a pack hook."
)


class Packed:
    """What a node saved under saved-tensor hooks. ``template`` is its saved values with None
    where a value was packed; ``slots`` holds (position, the pack hook's result, the graph edge
    of the original tensor: node or ``_SELF`` or None, output number); ``inputs`` is the node's
    ``_inputs`` with the packed tensors left out and ``in_slots`` maps an input's index to its
    slot, so the tensors can be rebuilt from the unpacked values for create_graph."""

    __slots__ = ("template", "slots", "unpack", "inputs", "in_slots")

    def __init__(self, template, slots, unpack, inputs=None, in_slots=None):
        self.template = template
        self.slots = slots
        self.unpack = unpack
        self.inputs = inputs
        self.in_slots = in_slots


def _is_array(s) -> bool:
    if type(s) is CPU_ARRAY:
        return True
    ct = cupy_array_type()
    return ct is not None and isinstance(s, ct)


def _edge_of(t):
    """The node and output number a gradient for ``t`` flows into (None when it has none)."""
    if not t._rg:
        return None, 0
    fn = t.grad_fn
    if fn is None:
        return _edge(t), 0
    return fn, t._out_nr


def pack_one(pack_hook, t):
    """``pack_hook(t)`` as torch calls it: without grad mode, refusing an in-place change of t."""
    v = t._version
    prev = _grad_state.enabled
    _grad_state.enabled = False
    try:
        packed = pack_hook(t)
    finally:
        _grad_state.enabled = prev
    if t._version != v:
        raise RuntimeError(_PACK_INPLACE_MSG)
    return packed


def _pack_saved(ctx, inputs, outs, out_read) -> None:
    """Pass the arrays an op saved through this thread's innermost pack hook, as torch's saved
    variables: an input's array only when the op reads it (``save_in``), an output's only when
    ``out_read``, anything else the op computed always. The hook receives the input or output
    tensor itself, or a new tensor around an intermediate array."""
    hooks = _stacks.hooks
    saved = ctx.saved
    if not hooks or not saved or (type(saved) is not tuple and type(saved) is not list):
        return  # (hooks of another thread, or nothing saved)
    pack_hook, unpack_hook = hooks[-1]
    save_in = type(ctx).save_in
    d = ctx.__dict__
    template = list(saved)
    slots = []
    in_slots = {}
    for j, s in enumerate(saved):
        if not _is_array(s):
            continue
        src = None
        is_input = False
        for i, a in enumerate(inputs):
            if isinstance(a, Tensor) and a._data is s:
                is_input = True
                if i in save_in:
                    if src is None:
                        src = a
                    in_slots.setdefault(i, j)
        if is_input:
            if src is None:
                continue  # backward does not read it: torch saves nothing there
            fn, nr = _edge_of(src)
        else:
            k = next((k for k, o in enumerate(outs) if o._data is s), -1)
            if k >= 0:
                if not out_read:
                    continue
                src = outs[k]
                fn, nr = _SELF, k
            else:
                src = _wrap(s)
                fn, nr = None, 0
        slots.append((j, pack_one(pack_hook, src), fn, nr))
        template[j] = None
    if not slots:
        return
    ctx.saved = type(saved)(template)
    inp = d.get("_inputs")
    if inp is not None:
        inp = tuple(None if i in in_slots else a for i, a in enumerate(inp))
        d["_inputs"] = inp
    d["_packed"] = Packed(ctx.saved, slots, unpack_hook, inp, in_slots)
    # what the hook returned is all that is kept (torch checks no versions of hooked values)
    for k in ("_vchk", "_outchk", "_outarr"):
        d.pop(k, None)


def _unpack_one(unpack_hook, packed):
    t = unpack_hook(packed)
    if not isinstance(t, Tensor):
        raise TypeError(
            "Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
            f"{type(t).__name__}"
        )
    return t


def _standin(t, fn, nr, node):
    """The unpacked ``t`` as the original tensor in the graph (torch gives the unpacked value
    the original's history), so a create_graph backward differentiates through it."""
    if fn is None:
        return t
    if fn is _SELF:
        fn = node
    if t.grad_fn is fn and t._out_nr == nr:
        return t
    if type(fn) is AccumulateGrad and fn._ref() is t:
        return t
    r = _wrap(t._data)
    r._rg = True
    if type(fn) is AccumulateGrad:
        r._accum = fn  # looks like a leaf whose gradient lands in the original leaf
    else:
        r.grad_fn = fn
        if nr:
            r._out_nr = nr
    return r


def unpack_saved(node, graph: bool) -> tuple:
    """``node``'s saved values with the packed ones through the unpack hook, which torch calls
    on every use: arrays for a plain backward, with ``graph`` Tensors standing for the originals
    in the graph (and the node's ``_inputs`` rebuilt from them)."""
    pk = node._packed
    out = list(pk.template)
    for j, packed, fn, nr in pk.slots:
        t = _unpack_one(pk.unpack, packed)
        out[j] = _standin(t, fn, nr, node) if graph else t._data
    if graph and pk.inputs is not None:
        inp = list(pk.inputs)
        for i, j in pk.in_slots.items():
            inp[i] = out[j]
        node.__dict__["_inputs"] = tuple(inp)
    return type(pk.template)(out)


def repack(node) -> None:
    """Drop what unpack_saved put on ``node`` (a retained graph unpacks again next time)."""
    pk = node._packed
    node.saved = pk.template
    if pk.inputs is not None:
        node.__dict__["_inputs"] = pk.inputs


def pack_function_saved(ctx, outputs, results) -> None:
    """Pass what a custom Function's ``ctx.save_for_backward`` kept through this thread's
    innermost pack hook; a saved output reaches the hook as the tensor ``apply`` returns
    (``results``, where ``outputs`` are what ``forward`` returned)."""
    hooks = _stacks.hooks
    saved = ctx.__dict__.get("_saved")
    if not hooks or not saved:
        return
    pack_hook, unpack_hook = hooks[-1]
    template = list(saved)
    slots = []
    for j, s in enumerate(saved):
        if not isinstance(s, Tensor):
            continue
        for o, r in zip(outputs, results):
            if s is o:
                s = r
                break
        fn, nr = _edge_of(s)
        if fn is ctx:
            fn = _SELF
        slots.append((j, pack_one(pack_hook, s), fn, nr))
        template[j] = None
    if slots:
        ctx._saved = tuple(template)
        ctx._packed = Packed(ctx._saved, slots, unpack_hook)
