"""A view taken before an in-place change of its base (or of another view of the base) takes the
base's new history, as torch regenerates a view's grad_fn once the base's version has moved:
gradients through such views match torch's, and the outputs of split/chunk/unbind (whose
history no view function can rebuild) refuse, with torch's message. Each case runs in ember and
torch and compares the gradients or the exception."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch


def _slice_then_base(m):
    x = m.ones(6, requires_grad=True)
    a = x * 1
    v = a[1:][0:2]  # a view of a view
    a.mul_(3)
    v.sum().backward()
    return [x.grad]


def _sibling_changed(m):
    x = m.ones(4, requires_grad=True)
    a = x * 1
    v, w = a[0:2], a[1:3]
    w.mul_(3)
    v.sum().backward()
    return [x.grad]


def _used_before_and_after(m):
    x = m.ones(4, requires_grad=True)
    a = x * 1
    v = a[0:2]
    s1 = v.sum()
    a.mul_(5)
    (s1 + v.sum()).backward()
    return [x.grad]


def _transposed_view(m):
    x = m.ones(2, 3, requires_grad=True)
    a = x.clone()
    v = a.t()
    a.add_(1)
    a.mul_(2)
    (v * m.arange(6.0).reshape(3, 2)).sum().backward()
    return [x.grad]


def _reshaped_then_relu_(m):
    x = m.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    a = x * 2
    v = a.view(2, 2)
    a.relu_()  # the relu_ fast path
    (v * m.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    return [x.grad]


def _setitem_on_base(m):
    x = m.ones(4, requires_grad=True)
    y = m.full((1,), 5.0, requires_grad=True)
    a = x * 1
    v = a[0:3]
    a[1] = y[0] * 2
    (v * m.arange(3.0)).sum().backward()
    return [x.grad, y.grad]


def _copy_into_base(m):
    x = m.ones(4, requires_grad=True)
    y = m.arange(4.0, requires_grad=True)
    a = x * 1
    v = a[::2]
    a.copy_(y * y)
    v.sum().backward()
    return [x.grad, y.grad]


def _views_changed_in_turn(m):
    x = m.ones(4, requires_grad=True)
    a = x * 1
    v, v2 = a[0:2], a[2:]
    v2.mul_(7)
    v.mul_(2)
    (a.sum() + v.sum() + v2.sum()).backward()
    return [x.grad]


def _strided_sibling(m):
    x = m.ones(2, 4, requires_grad=True, dtype=m.float64)
    a = x * 1
    v = a.t()
    a[:, 1:3].mul_(5)
    (v * m.arange(8.0, dtype=m.float64).reshape(4, 2)).sum().backward()
    return [x.grad]


@pytest.mark.parametrize(
    "case",
    [
        _slice_then_base,
        _sibling_changed,
        _used_before_and_after,
        _transposed_view,
        _reshaped_then_relu_,
        _setitem_on_base,
        _copy_into_base,
        _views_changed_in_turn,
        _strided_sibling,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_gradients_through_views_of_a_changed_base(case):
    got, want = case(ember), case(torch)
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None
        else:
            np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_view_history_names_torchs_node():
    for m in (ember, torch):
        a = m.ones(4, requires_grad=True) * 1
        v = a[0:2]
        a.mul_(2)
        assert v.grad_fn.name() == "AsStridedBackward0"
        assert v.requires_grad


def _split_piece(m):
    a = m.ones(6, requires_grad=True) * 1
    p = a.split(2)
    a.mul_(3)
    (p[1].sum() * 2).backward()


def _unbind_piece(m):
    x = m.ones(2, 3, requires_grad=True)
    a = x * 1
    r = a.unbind(1)
    a.add_(x)
    (r[1] * 3).sum().backward()


def _view_of_split_piece_twice(m):
    a = m.ones(6, requires_grad=True) * 1
    q = a.split(2)[1][1:]
    a.mul_(3)
    a.add_(1)  # a second change keeps the view's own name in the refusal
    (q.sum() * 2).backward()


def _view_of_chunk(m):
    a = m.ones(6, requires_grad=True) * 1
    q = a.chunk(3)[1][0:1]
    a.mul_(3)
    q.sum().backward()


@pytest.mark.parametrize(
    "case",
    [_split_piece, _view_of_split_piece_twice, _unbind_piece, _view_of_chunk],
    ids=lambda f: f.__name__.strip("_"),
)
def test_multi_output_views_refuse_a_changed_base(case):
    """torch refuses when the piece is used; ember when a gradient reaches it (same message)."""
    msgs = []
    for m in (torch, ember):
        with pytest.raises(RuntimeError) as info:
            case(m)
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]
    assert "its base or another view of its base has been modified inplace" in msgs[1]


def test_views_without_graph_or_of_leaves_are_left_alone():
    """Views made without a graph, or of a leaf, are not tracked: the base's history cannot be
    rewritten under them (a leaf that requires grad refuses in-place changes)."""
    w = ember.ones(4, requires_grad=True)
    v = w[0:2]
    assert "_views" not in w.__dict__
    with ember.no_grad():
        w.mul_(2)
    (v * 1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0, 0.0, 0.0])
    a = ember.ones(4)
    u = a[0:2]
    a.mul_(3)
    assert not u.requires_grad and "_views" not in a.__dict__


def _retained_view(m):
    x = m.ones(4, requires_grad=True)
    a = x * 1
    b = a[0:2]
    b.retain_grad()
    s1 = (b * 1).sum()
    a.mul_(2)
    (s1 + (b * 3).sum()).backward()
    return [b.grad, x.grad]


def test_retain_grad_moves_to_the_views_new_history():
    """As torch moves its retains_grad hook: .grad is the gradient reaching the new history."""
    got, want = _retained_view(ember), _retained_view(torch)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
