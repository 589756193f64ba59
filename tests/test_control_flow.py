"""torch.cond and torch.while_loop (ember/_control_flow.py) against torch: values, output
structure, gradients through the branch or loop taken, and torch's argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch


def _x(lib):
    return lib.tensor([0.3, -1.2, 2.0], dtype=lib.float64, requires_grad=True)


def _same(e, t):
    if isinstance(t, (tuple, list, dict)):
        assert type(e) is type(t) and len(e) == len(t)
        for k in t if isinstance(t, dict) else range(len(t)):
            _same(e[k], t[k])
    elif isinstance(t, torch.Tensor):
        assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-12)
    else:
        assert e == t


_PREDS = [
    lambda L: True,
    lambda L: 0,
    lambda L: 0.0,
    lambda L: L.tensor(True),
    lambda L: L.tensor(False),
    lambda L: L.tensor([2.5]),
    lambda L: L.tensor([[0]]),
]


@pytest.mark.parametrize("pred", range(len(_PREDS)))
def test_cond_values_and_gradients(pred):
    """The branch taken, its outputs (a tuple of two) and the gradients through it."""
    res = []
    for lib in (ember, torch):
        x = _x(lib)
        out = lib.cond(
            _PREDS[pred](lib),
            lambda a, b: (a.sin() * b, a * 2),
            lambda a, b: (a.cos() + b, a.exp()),
            (x, lib.tensor(3.0, dtype=lib.float64)),
        )
        (out[0].sum() + (out[1] * out[1]).sum()).backward()
        res.append((out, x.grad))
    _same(*[r[0] for r in res])
    _same(res[0][1], res[1][1])


@pytest.mark.parametrize("ret", ["tensor", "list", "nested_operands", "int", "no_operands"])
def test_cond_structures(ret):
    """Operands as a list or nested, no operands (closures), outputs a tensor, a list or an
    int: returned as the branch returns them."""
    res = []
    for lib in (ember, torch):
        x, p = _x(lib), lib.tensor(False)
        if ret == "tensor":
            out = lib.cond(p, lambda a: a.sin(), lambda a: a.cos(), [x])
        elif ret == "list":
            out = lib.cond(p, lambda a: [a + 1, a * 3], lambda a: [a - 1, a * 4], (x,))
        elif ret == "nested_operands":
            out = lib.cond(p, lambda t: t[0] * t[1], lambda t: t[0] - t[1], ((x, x * 2),))
        elif ret == "int":
            out = lib.cond(p, lambda a: 3, lambda a: 4, (x,))
        else:
            out = lib.cond(p, lambda x=x: x.sin(), lambda x=x: x.cos())
        res.append(out)
    _same(*res)


_COND_ERRORS = [  # f(lib, x), the message's start (RuntimeError)
    (lambda L, x: L.cond(L.tensor([1.0, 0.0]), L.sin, L.cos, (x,)), "Expected pred to be bool "
     "or single-element tensor, but got tensor([1., 0.])."),
    (lambda L, x: L.cond(L.tensor([]), L.sin, L.cos, (x,)), "Expected pred to be bool or "
     "single-element tensor, but got tensor([])."),
    (lambda L, x: L.cond("a", L.sin, L.cos, (x,)), "Expected pred to be bool or tensor, but "
     "got a."),
    (lambda L, x: L.cond(None, L.sin, L.cos, (x,)), "Expected pred to be bool or tensor, but "
     "got None."),
    (lambda L, x: L.cond(np.bool_(True), L.sin, L.cos, (x,)), "Expected pred to be bool or "
     "tensor, but got True."),
    (lambda L, x: L.cond(L.tensor(True), 3, L.cos, (x,)), "Expect both branches to be "
     "callable."),
    (lambda L, x: L.cond(L.tensor(True), L.sin, L.cos, x), "Expect operands to be a tuple of "
     "possibly nested dict/list/tuple that only consists of tensor leaves, but got tensor("),
    (lambda L, x: L.cond(L.tensor(True), L.sin, L.cos, {"a": x}), "Expect operands to be a "
     "tuple of possibly nested dict/list/tuple that only consists of tensor leaves, but got "),
    (lambda L, x: L.cond(L.tensor(True), L.sin, L.cos, (3,)), "Expect operands to be a tuple "
     "of possibly nested dict/list/tuple that only consists of tensor leaves, but got (3,)."),
]  # fmt: skip


@pytest.mark.parametrize("case", range(len(_COND_ERRORS)))
def test_cond_errors_as_torch(case):
    bad, msg = _COND_ERRORS[case]
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as info:
            bad(lib, lib.tensor([0.5, 1.0]))
        assert str(info.value).startswith(msg)


@pytest.mark.parametrize(
    "branch,phrase",
    [
        (lambda a: a, "aliasing"),
        (lambda a: a[:1], "aliasing"),
        (lambda a: None, "unsupported branch return type (constant non-int)"),
    ],
)
def test_cond_refuses_aliasing_and_non_int_constants(branch, phrase):
    """An output that is an input or a view of one, or a constant other than an int: torch
    (tracing with torch.compile) and ember both raise a RuntimeError naming the problem."""
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=phrase.replace("(", "\\(").replace(")", "\\)")):
            lib.cond(lib.tensor(True), branch, branch, (lib.tensor([0.5, 1.0]),))


def _loop(lib, carried, start=0):
    x = _x(lib)
    i = lib.tensor(start)
    if carried == "tuple":
        out = lib.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * a + 1), (i, x))
    elif carried == "list_int":
        # torch refuses int carried values beside a tensor that requires grad
        out = lib.while_loop(
            lambda i, a: i < 3, lambda i, a: (i + 1, a.sin() * 2), [start, x.detach()]
        )
    elif carried == "nested":
        out = lib.while_loop(lambda t: t[0] < 3, lambda t: ((t[0] + 1, t[1] * 1.5),), ((i, x),))
    elif carried == "dict_body":  # the body's own structure comes back
        out = lib.while_loop(lambda i, a: i < 3, lambda i, a: {"i": i + 1, "a": a * 2}, (i, x))
    else:  # "bare": one carried value, the body returns it bare
        out = lib.while_loop(lambda a: a.sum() < 10, lambda a: a + 1.25, (x,))
    leaves = out.values() if isinstance(out, dict) else out
    flat = [t for v in leaves for t in (v if isinstance(v, tuple) else (v,))]
    if not isinstance(out, (tuple, list, dict)):
        flat = [out]
    loss = sum((t * t).sum() for t in flat if isinstance(t, lib.Tensor) and t.requires_grad)
    if isinstance(loss, lib.Tensor):
        loss.backward()
    return out, x.grad


@pytest.mark.parametrize("carried", ["tuple", "list_int", "nested", "dict_body", "bare"])
@pytest.mark.parametrize("start", [0, 5])
def test_while_loop_values_structures_and_gradients(carried, start):
    """Loops of three steps (or none: the carried inputs back as a tuple), with tensors and
    ints carried, nested, or returned by the body in its own structure; the gradients through
    the steps."""
    (eo, eg), (to, tg) = _loop(ember, carried, start), _loop(torch, carried, start)
    if carried == "dict_body" and start:
        # no step: torch gives the carried values in the body's structure, known from its
        # trace; ember, which runs no body, gives them as the tuple they came in
        assert isinstance(eo, tuple) and isinstance(to, dict)
        to = (to["i"], to["a"])
    _same(eo, to)
    assert (eg is None) == (tg is None)
    if tg is None:
        return
    if start == 0 or carried == "bare":
        _same(eg, tg)
    else:  # no step: the loss is sum(x * x); torch's backward runs a body step all the same
        np.testing.assert_allclose(eg.numpy(), 2 * np.array([0.3, -1.2, 2.0]), rtol=1e-12)
        assert not np.allclose(tg.numpy(), 2 * np.array([0.3, -1.2, 2.0]))


_LOOP_ERRORS = [  # f(lib), the exception type, a phrase of torch's message
    (lambda L: L.while_loop(3, lambda i: (i + 1,), (L.tensor(0),)), RuntimeError,
     "Expect cond_fn and body_fn to be callable."),
    (lambda L: L.while_loop(lambda i: i < 3, lambda i: (i + 1,), (0.5,)), AssertionError,
     "can only be of (<class 'torch.Tensor'>, <class 'int'>, <class 'torch.SymInt'>) but got"),
    (lambda L: L.while_loop(lambda i: (i < 3).float(), lambda i: (i + 1,), (L.tensor(0),)),
     RuntimeError, "Expected cond_fn to return a scalar tensor or a bool but got torch.Size([])"),
    (lambda L: L.while_loop(lambda i: (i < 3).reshape(1), lambda i: (i + 1,), (L.tensor(0),)),
     RuntimeError, "Expected cond_fn to return a scalar tensor or a bool but got torch.Size([1])"),
    (lambda L: L.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1,), (L.tensor(0), L.ones(2))),
     RuntimeError, "Expected body_fn_output and carried_inputs to have same number of outputs"),
    (lambda L: L.while_loop(lambda i: i < 3, lambda i: (i + 1.0,), (L.tensor(0),)),
     RuntimeError, "pair[0] differ in 'dtype: torch.float32 vs torch.int64'"),
    (lambda L: L.while_loop(lambda a: a.sum() < 9, lambda a: (L.cat([a, a]),), (L.ones(2),)),
     RuntimeError, "Expected body_fn_output and carried_inputs to have same metadata"),
]  # fmt: skip


@pytest.mark.parametrize("case", range(len(_LOOP_ERRORS)))
def test_while_loop_errors_as_torch(case):
    bad, kind, phrase = _LOOP_ERRORS[case]
    for lib in (ember, torch):
        with pytest.raises(kind) as info:
            bad(lib)
        assert phrase in str(info.value)
