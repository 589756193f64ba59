"""Autograd and in-place ops: values, gradients and version counters of in-place updates;
compared with torch."""

from __future__ import annotations

import pytest

import ember
from tests._support.autograd import _leaf
from tests._support.torch_ref import assert_same, torch


def test_inplace_not_saved_is_fine():
    xe, xt = _leaf()
    for x in (xe, xt):
        y = x * 2
        z = y + 1  # add does not save its inputs
        y.add_(5)
        z.sum().backward()
    assert_same(xe.grad, xt.grad)


INPLACE = [
    ("add_", (2.0,)),
    ("sub_", (1.5,)),
    ("mul_", (3.0,)),
    ("div_", (4.0,)),
    ("zero_", ()),
    ("fill_", (7.0,)),
    ("clamp_", (-0.5, 0.5)),
    ("masked_fill_", "mask"),
    ("copy_", "src"),
    ("add_", "other"),
    ("mul_", "other"),
    ("pow_", (2,)),
    ("exp_", ()),
    ("neg_", ()),
    ("sigmoid_", ()),
    ("relu_", ()),
    ("clamp_min_", (0.0,)),
    ("abs_", ()),
]


@pytest.mark.parametrize("name,args", INPLACE, ids=[f"{n}-{a}" for n, a in INPLACE])
def test_inplace_ops_values_grads_versions(name, args):
    xe, xt = _leaf((2, 3))
    oe, ot = _leaf((2, 3), seed=5)
    if args == "mask":
        args_e, args_t = (xe.detach() > 0, 9.0), (xt.detach() > 0, 9.0)
    elif args == "src":
        args_e, args_t = (oe,), (ot,)
    elif args == "other":
        args_e, args_t = (oe,), (ot,)
    else:
        args_e = args_t = args
    ye, yt = xe * 1, xt * 1
    v0 = ye._version
    re_ = getattr(ye, name)(*args_e)
    rt = getattr(yt, name)(*args_t)
    assert re_ is ye and rt is yt
    assert ye._version > v0
    assert_same(ye, yt)
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    assert_same(xe.grad, xt.grad)
    if args in ("src", "other"):
        assert_same(oe.grad, ot.grad)


def test_inplace_no_grad_versions_and_iadd():
    e = ember.zeros(3)
    t = torch.zeros(3)
    for x in (e, t):
        v = x._version
        x += 1
        x *= 3
        x -= 1
        x /= 4
        assert x._version == v + 4
    assert_same(e, t)
    x = ember.zeros(3)
    alias = x
    x += 1
    assert alias is x


def test_uniform_normal_inplace_bump_version():
    e = ember.zeros(100)
    v = e._version
    e.uniform_()
    e.normal_()
    assert e._version == v + 2


def _saved_operand_cases(m):
    """A product or quotient reads an operand only for the other's gradient: changing that
    operand in place afterwards is fine while the other needs no gradient (torch saves it only
    then), and refused where it is read."""

    def run(make, change):
        x = m.ones(3, requires_grad=True)
        w = m.full((3,), 3.0, requires_grad=make == "both")
        a = x * 1
        products = {
            "scalar": lambda: a * 2.0,
            "tensor": lambda: a * w,
            "both": lambda: a * w,
            "div": lambda: a / 4.0,
            "rdiv": lambda: w / a,
            "square": lambda: a * a,
        }
        y = products[make]()
        (a if change == "a" else w).add_(1)
        try:
            y.sum().backward()
        except RuntimeError as e:
            return str(e)[:60]
        return x.grad.tolist()

    cases = [("scalar", "a"), ("tensor", "a"), ("tensor", "w"), ("both", "a"), ("div", "a"),
             ("rdiv", "w"), ("square", "a")]  # fmt: skip
    return [run(*c) for c in cases]


def test_in_place_change_of_an_operand_read_only_for_the_other_gradient():
    assert _saved_operand_cases(ember) == _saved_operand_cases(torch)
