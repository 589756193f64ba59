"""In-place changes of the outputs of functions that return several views (split, chunk,
unbind, split_with_sizes), as torch: refused while autograd would record them, allowed
otherwise; tensor_split, hsplit/vsplit/dsplit and the unsafe_ forms allow them. Each case runs
in ember and torch side by side and compares the exception (type and message) or the values
and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch

MULTI = "This view is the output of a function that returns multiple views"
NO_GRAD = "A view was created in no_grad mode and is being modified inplace with grad mode"
LEAF = "a leaf Variable that requires grad is being used in an in-place operation."


def _data(shape=(6, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _base(m, kind: str, arr=None):
    """The tensor to split: a non-leaf that requires grad, a leaf that does, or a plain one."""
    t = m.tensor(_data() if arr is None else arr)
    if kind == "nonleaf":
        return t.requires_grad_() * 1
    if kind == "leaf":
        return t.requires_grad_()
    return t


def _outcome(fn):
    """None where ``fn`` runs, else its exception's type and message."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (the exception is what is compared)
        return type(e), str(e)
    return None


def _same_outcome(fn):
    """Run ``fn(module)`` in ember and in torch: the same exception (or none) in both."""
    e, t = _outcome(lambda: fn(ember)), _outcome(lambda: fn(torch))
    assert e == t
    return e


# the functions whose outputs torch refuses to see changed in place: (name in torch's message,
# call); a piece other than the first where there are several
REFUSING = {
    "split": ("Split", lambda m, a: a.split(2)),
    "torch.split": ("Split", lambda m, a: m.split(a, 2)),
    "split-list": ("SplitWithSizes", lambda m, a: a.split([2, 4])),
    "split_with_sizes": ("SplitWithSizes", lambda m, a: a.split_with_sizes([1, 5])),
    "torch.split_with_sizes": ("SplitWithSizes", lambda m, a: m.split_with_sizes(a, [3, 3])),
    "split-dim1": ("Split", lambda m, a: a.split(3, 1)),
    "chunk": ("Split", lambda m, a: a.chunk(3)),
    "torch.chunk": ("Split", lambda m, a: m.chunk(a, 2, 1)),
    "unbind": ("Unbind", lambda m, a: a.unbind()),
    "torch.unbind-dim1": ("Unbind", lambda m, a: m.unbind(a, 1)),
    "iteration": ("Unbind", lambda m, a: tuple(a)),
    "one-piece-split": ("Split", lambda m, a: a.split(6)),
    "chunk-1": ("Split", lambda m, a: a.chunk(1)),
}

INPLACE = {
    "add_": lambda m, t: t.add_(1),
    "mul_": lambda m, t: t.mul_(2),
    "iadd": lambda m, t: t.__iadd__(1.5),
    "copy_": lambda m, t: t.copy_(m.ones_like(t)),
    "zero_": lambda m, t: t.zero_(),
    "fill_": lambda m, t: t.fill_(3),
    "relu_": lambda m, t: t.relu_(),
    "F.relu-inplace": lambda m, t: m.nn.functional.relu(t, inplace=True),
    "clamp_": lambda m, t: t.clamp_(0, 1),
    "sigmoid_": lambda m, t: t.sigmoid_(),
    "masked_fill_": lambda m, t: t.masked_fill_(t > 0, 1.0),
    "index_fill_": lambda m, t: t.index_fill_(0, m.tensor([0]), 1.0),
    "index_put_": lambda m, t: t.index_put_((m.tensor([0]),), m.tensor(1.0)),
    "uniform_": lambda m, t: t.uniform_(),
    "exponential_": lambda m, t: t.exponential_(),
    "t_": lambda m, t: t.t_(),
    "unsqueeze_": lambda m, t: t.unsqueeze_(0),
    "setitem": lambda m, t: t.__setitem__(0, 5.0),
    "setitem-all": lambda m, t: t.__setitem__(slice(None), 5.0),
    "setitem-list": lambda m, t: t.__setitem__([0], 5.0),
}


def _piece(parts):
    return parts[1] if len(parts) > 1 else parts[0]


@pytest.mark.parametrize("op", list(INPLACE))
@pytest.mark.parametrize("fn", list(REFUSING))
@pytest.mark.parametrize("kind", ["nonleaf", "leaf"])
def test_refused_as_torch(kind, fn, op):
    make = REFUSING[fn][1]
    got = _same_outcome(lambda m: INPLACE[op](m, _piece(make(m, _base(m, kind)))))
    assert got is not None and got[0] is RuntimeError
    assert MULTI in got[1]


def test_message_names_the_function_and_output():
    for name, make in REFUSING.values():
        for m in (ember, torch):
            parts = make(m, _base(m, "nonleaf"))
            k = len(parts) - 1
            with pytest.raises(RuntimeError, match=f"^Output {k} of {name} is a view and is"):
                parts[k].add_(1)
    # torch's example, word for word
    p = (ember.randn(6, requires_grad=True) * 1).split(2)
    with pytest.raises(RuntimeError) as e:
        p[0].add_(1)
    assert str(e.value) == (
        "Output 0 of Split is a view and is being modified inplace. This view is the output of "
        "a function that returns multiple views. Such functions do not allow the output views "
        "to be modified inplace. You should replace the inplace operation by an out-of-place one."
    )


@pytest.mark.parametrize("kind", ["nonleaf", "leaf"])
def test_views_of_the_outputs_are_refused_too(kind):
    derived = [
        lambda t: t[1:],
        lambda t: t[1],
        lambda t: t[...],
        lambda t: t.narrow(0, 0, 1),
        lambda t: t.diagonal(),
        lambda t: t.as_strided((2,), (1,)),
        lambda t: t.unfold(1, 2, 1),
        lambda t: t.split(1)[0],
        lambda t: t.unbind(1)[2],
        lambda t: t[1:][0:1],
    ]
    for view in derived:
        got = _same_outcome(lambda m, view=view: view(_base(m, kind).split(2)[1]).add_(1))
        assert got is not None and MULTI in got[1]
    # torch names its own view ops (View, Unsqueeze) where ember has others: the rest is the same
    for view in (lambda t: t.view(-1), lambda t: t.unsqueeze(0), lambda t: t.t()):
        for m in (ember, torch):
            with pytest.raises(RuntimeError, match=r"^Output 0 of \w+ is a view and is being mod"):
                view(_base(m, kind).chunk(3)[2]).mul_(2)


def test_setitem_names_the_view_it_writes_into():
    keys = [
        1, -1, slice(None), slice(0, 2), slice(0, 100), slice(0, 1), slice(-2, None),
        slice(None, None, 2), ..., None, True, (None, 0), (0, None), (..., 0), (slice(None), 0),
        (0, slice(None)), [0], (0, [1]), ([0], 1), (slice(1, None), [0]), (slice(None), [0, 1]),
        (slice(None), slice(1, None)), (slice(None), slice(0, 4)),
    ]  # fmt: skip
    for key in keys:
        got = _same_outcome(
            lambda m, key=key: _base(m, "nonleaf").split(2)[1].__setitem__(key, 5.0)
        )
        assert got is not None and MULTI in got[1]
    for key in ([0], 1):  # an index tensor and a 0-d one (Select)
        got = _same_outcome(
            lambda m, key=key: _base(m, "nonleaf").unbind()[2].__setitem__(m.tensor(key), 5.0)
        )
        assert got is not None and MULTI in got[1]


ALLOWING = {
    "tensor_split": lambda m, a: a.tensor_split(3),
    "tensor_split-indices": lambda m, a: m.tensor_split(a, [1, 4]),
    "hsplit": lambda m, a: a.hsplit(2),
    "vsplit": lambda m, a: m.vsplit(a, [2]),
    "dsplit": lambda m, a: a.reshape(2, 3, 4).dsplit(2),
    "unsafe_split": lambda m, a: a.unsafe_split(2),
    "unsafe_chunk": lambda m, a: m.unsafe_chunk(a, 3),
    "unsafe_split_with_sizes": lambda m, a: a.unsafe_split_with_sizes([2, 4]),
}


@pytest.mark.parametrize("fn", list(ALLOWING))
def test_tensor_split_and_unsafe_forms_allow_it(fn):
    res = {}
    for m in (ember, torch):
        x = m.tensor(_data()).requires_grad_()
        a = x * 1
        parts = ALLOWING[fn](m, a)
        parts[1].mul_(3)
        parts[0].add_(1)
        loss = a.pow(2).sum() + parts[1].sum() * 2
        loss.backward()
        res[m] = (a, parts[1], parts[1].grad_fn.name(), x.grad)
    assert_same(res[ember][0], res[torch][0])
    assert_same(res[ember][1], res[torch][1])
    assert res[ember][2] == res[torch][2]
    # the unsafe_ forms' pieces are no views to autograd: the input's history is kept as it was
    assert_same(res[ember][3], res[torch][3])


def test_unsafe_forms_are_not_views_to_autograd():
    for m in (ember, torch):
        x = m.tensor(_data()).requires_grad_()
        parts = x.unsafe_chunk(3)
        assert parts[0].grad_fn.name() == "UnsafeSplitBackward0"
        assert m.unsafe_split_with_sizes(x, [2, 4])[1].grad_fn.name() == (
            "UnsafeSplitWithSizesBackward0"
        )
        parts[1].zero_()  # a leaf's piece: no view of a leaf to refuse
        assert parts[1]._version == 1 and x._version == 0
        assert float(x.detach()[2:4].abs().sum()) == 0.0


@pytest.mark.parametrize("fn", list(REFUSING))
def test_allowed_where_the_base_needs_no_grad(fn):
    res = {}
    for m in (ember, torch):
        a = _base(m, "plain")
        parts = REFUSING[fn][1](m, a)
        p = _piece(parts)
        p.mul_(2)
        p.add_(m.ones_like(p))
        p[0] = 7.0
        res[m] = (a, p, p.requires_grad, p.grad_fn)
    assert_same(res[ember][0], res[torch][0])  # seen in the base
    assert_same(res[ember][1], res[torch][1])
    assert res[ember][2:] == (False, None) == res[torch][2:]


@pytest.mark.parametrize("fn", ["split", "chunk", "unbind", "split_with_sizes"])
def test_base_without_grad_and_an_operand_with_grad(fn):
    """The change would be recorded: torch's error, for a view without a grad_fn."""
    make = REFUSING[fn][1]
    for op in (
        lambda m, p: p.add_(m.ones(p.shape, requires_grad=True)),
        lambda m, p: p.copy_(m.ones(p.shape, requires_grad=True) * 2),
        lambda m, p: p.__setitem__(0, m.ones(p.shape[1:], requires_grad=True)),
        lambda m, p: p[0:1].mul_(m.ones(p[0:1].shape, requires_grad=True)),
    ):
        got = _same_outcome(lambda m, op=op: op(m, _piece(make(m, _base(m, "plain")))))
        assert got is not None and got[1].startswith(NO_GRAD) and MULTI in got[1]
    # a piece made to require grad afterwards (a leaf) is refused in the same words
    got = _same_outcome(lambda m: _piece(make(m, _base(m, "plain"))).requires_grad_().add_(1))
    assert got is not None and got[1].startswith(NO_GRAD) and MULTI in got[1]


@pytest.mark.parametrize("kind", ["nonleaf", "leaf"])
def test_allowed_in_no_grad_mode(kind):
    res = {}
    for m in (ember, torch):
        a = _base(m, kind)
        parts = a.split(2)
        u = a.unbind(1)
        with m.no_grad():
            parts[1].mul_(2)
            parts[0][1] = 5.0
            u[3].zero_()
            m.nn.init.ones_(parts[2][0])
        res[m] = a
    assert_same(res[ember], res[torch])


@pytest.mark.parametrize("kind", ["nonleaf", "leaf", "plain"])
def test_made_in_no_grad_mode_changed_with_grad_mode_on(kind):
    """torch's error for views made in no_grad mode: where the base requires grad, always;
    otherwise only where an operand does."""
    for fn in ("split", "split-list", "chunk", "unbind", "iteration"):
        make = REFUSING[fn][1]

        def parts(m, make=make):
            a = _base(m, kind)
            with m.no_grad():
                return make(m, a)

        for op in (
            lambda m, p: p.add_(1),
            lambda m, p: p.zero_(),
            lambda m, p: p.copy_(m.ones_like(p)),
            lambda m, p: p.add_(m.ones(p.shape, requires_grad=True)),
            lambda m, p: p.__setitem__(slice(None), 2.0),
            lambda m, p: p.__setitem__(0, 2.0),  # Output 0 of Select is a view of a view ...
        ):
            got = _same_outcome(lambda m, op=op: op(m, _piece(parts(m))))
            if got is not None:
                assert "created in no_grad mode" in got[1] and "ambiguous" in got[1]
            elif kind != "plain":
                pytest.fail("torch refuses this")
        # a view of such an output, made with grad mode on: torch's names its op ("Output 0 of
        # Slice is a view of a view which was created in no_grad mode"), ember's has no node
        for m in (ember, torch):
            p = _piece(parts(m))
            with pytest.raises(RuntimeError, match="created in no_grad mode and is being"):
                p[1:].add_(m.ones(p[1:].shape, requires_grad=True))
        # changed in no_grad mode too: allowed
        res = {}
        for m in (ember, torch):
            a = _base(m, kind)
            with m.no_grad():
                p = _piece(make(m, a))
                p.add_(1)
            res[m] = a
        assert_same(res[ember], res[torch])


def test_detached_piece_can_change():
    res = {}
    for m in (ember, torch):
        a = _base(m, "nonleaf")
        p = a.split(2)
        d = p[1].detach()
        d.mul_(10)
        d[0] = 1.0
        res[m] = (a, d)
        p[0].data.add_(1)  # .data too
        res[m] = (a, d)
    assert_same(res[ember][0], res[torch][0])
    assert_same(res[ember][1], res[torch][1])


def test_requires_grad_and_out_on_a_piece():
    for m in (ember, torch):
        p = _base(m, "nonleaf").split(2)
        assert p[0].requires_grad_() is p[0]  # no change: allowed
        with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
            p[0].requires_grad_(False)
        # out= refuses arguments that require grad before looking at views
        with pytest.raises(RuntimeError, match=r"functions with out=\.\.\. arguments don't"):
            m.add(m.ones(2, 4), 1, out=p[1])
        with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
            p[1].resize_(2, 4)
    res = {}
    for m in (ember, torch):
        a = _base(m, "plain")
        p = a.unbind()
        m.mul(m.ones(4), 3, out=p[5])  # nothing needs grad: written, seen in the base
        res[m] = a
    assert_same(res[ember], res[torch])


def test_internal_users_of_pieces_still_run():
    """ember's own code splits tensors that record a graph (glu, multi-head attention's packed
    projection, ShuffleNet's channel split) and only reads the pieces."""
    res = {}
    for m in (ember, torch):
        x = m.tensor(_data((2, 6, 4))).requires_grad_()
        mha_in = m.tensor(_data((3, 2, 8), seed=1))
        m.manual_seed(0)
        mha = m.nn.MultiheadAttention(8, 2)
        y = m.nn.functional.glu(x, 1).sum() + mha(mha_in, mha_in, mha_in)[0].sum()
        y.backward()
        res[m] = x.grad
    assert_same(res[ember], res[torch])


def test_leaf_checks_of_every_in_place_op():
    """The refusals on leaves and views of leaves that this check sits beside: the samplers and
    the shape ops in place did not make them."""
    ops = [
        lambda t: t.exponential_(),
        lambda t: t.cauchy_(),
        lambda t: t.log_normal_(),
        lambda t: t.geometric_(0.5),
        lambda t: t.bernoulli_(),
        lambda t: t.uniform_(),
        lambda t: t.t_(),
        lambda t: t.unsqueeze_(0),
        lambda t: t.set_(t.detach().clone()),
    ]
    for op in ops:
        got = _same_outcome(lambda m, op=op: op(_base(m, "leaf")))
        assert got == (RuntimeError, LEAF)
        got = _same_outcome(lambda m, op=op: op(_base(m, "leaf").tensor_split(2)[0]))
        assert got is not None and got[1].startswith("a view of a leaf Variable")
    # in no_grad mode these are allowed (set_ refused a leaf even there)
    for m in (ember, torch):
        w = _base(m, "leaf")
        with m.no_grad():
            w.set_(m.ones(3))
            w.exponential_()
        assert w.requires_grad and tuple(w.shape) == (3,)
