"""Views share storage; indexing and index assignment match torch (values and gradients)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch


def _pair(shape=(3, 4), dtype=np.float32, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return ember.from_numpy(a.copy()), torch.from_numpy(a.copy())


VIEWS = {
    "view": lambda x: x.view(4, 3),
    "view_-1": lambda x: x.view(-1),
    "reshape": lambda x: x.reshape(2, 6),
    "transpose": lambda x: x.transpose(0, 1),
    "t": lambda x: x.t(),
    "permute": lambda x: x.permute(1, 0),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "squeeze": lambda x: x.unsqueeze(0).squeeze(0),
    "expand": lambda x: x[:1].expand(5, 4),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "flatten": lambda x: x.flatten(),
    "slice": lambda x: x[1:, ::2],
    "int": lambda x: x[1],
    "ellipsis": lambda x: x[..., 2],
    "none": lambda x: x[None, :, 1],
    "T": lambda x: x.T,
    "mT": lambda x: x.mT,
    "unbind": lambda x: x.unbind(0)[1],
    "split": lambda x: x.split(2, 1)[1],
    "chunk": lambda x: x.chunk(2, 0)[0],
    "select": lambda x: x.select(1, 2),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_share_storage(name):
    f = VIEWS[name]
    e, t = _pair()
    ve, vt = f(e), f(t)
    assert_same(ve, vt)
    assert np.shares_memory(ve.numpy(), e.numpy())
    if name != "expand":
        ve.mul_(10)
        vt.mul_(10)
        assert_same(e, t)
    v0 = e._version
    e.add_(1)
    assert ve._version == e._version == v0 + 1  # one version counter per storage


def test_base_write_shows_in_view():
    e = ember.zeros(2, 3)
    v = e[1]
    e[1, 2] = 7
    assert v.tolist() == [0, 0, 7]
    v.fill_(1)
    assert e.tolist() == [[0, 0, 0], [1, 1, 1]]


def test_contiguity():
    e, t = _pair()
    assert e.is_contiguous() == t.is_contiguous()
    et, tt = e.t(), t.t()
    assert et.is_contiguous() == tt.is_contiguous() is False
    c = et.contiguous()
    assert c.is_contiguous() and not np.shares_memory(c.numpy(), e.numpy())
    assert_same(c, tt.contiguous())
    assert e.contiguous() is e
    assert e.stride() == t.stride() and et.stride() == tt.stride()
    with pytest.raises(RuntimeError):
        et.view(12)
    with pytest.raises(RuntimeError):
        tt.view(12)
    assert_same(et.reshape(12), tt.reshape(12))


KEYS = [
    0,
    -1,
    (1, 2),
    slice(1, None),
    (slice(None), 1),
    (Ellipsis, 0),
    (None, 1),
    (1, None),
    (slice(None, None, 2), slice(1, 3)),
    [0, 2],
    ([0, 2], [1, 3]),
    ([[0], [2]], [1, 3]),
    (slice(None), [3, 0, 0]),
    (Ellipsis, [1, 1]),
    (1, [0, 2]),
    ([2, 0], slice(1, 3)),
    (None, [0, 1], None),
    (slice(0, 0),),
    (slice(-2, None), -1),
]


@pytest.mark.parametrize("key", KEYS, ids=[repr(k) for k in KEYS])
def test_getitem(key):
    e, t = _pair()
    assert_same(e[key], t[key])


def test_getitem_tensor_indices_and_masks():
    e, t = _pair((4, 5))
    ie = ember.tensor([3, 0, 3])
    it = torch.tensor([3, 0, 3])
    assert_same(e[ie], t[it])
    assert_same(e[:, ie], t[:, it])
    assert_same(e[ie, ie], t[it, it])
    me, mt = e > 0, t > 0
    assert_same(e[me], t[mt])
    rm_e, rm_t = ember.tensor([True, False, True, True]), torch.tensor([True, False, True, True])
    assert_same(e[rm_e], t[rm_t])
    assert_same(e[rm_e, 1:3], t[rm_t, 1:3])
    assert_same(e[ember.tensor(2)], t[torch.tensor(2)])
    assert_same(e[ie.view(3, 1), ie], t[it.view(3, 1), it])
    assert_same(
        e[ember.tensor([1, 0, 1, 0], dtype=ember.uint8).bool()],
        t[torch.tensor([1, 0, 1, 0], dtype=torch.uint8).bool()],
    )
    assert_same(e[e.sum(1) > 0], t[t.sum(1) > 0])
    assert_same(e[[True, False, True, False]], t[[True, False, True, False]])


def test_getitem_on_permuted_views():
    e, t = _pair((2, 3, 4))
    pe, pt = e.permute(2, 0, 1), t.permute(2, 0, 1)
    for key in [(1,), (slice(None), 1), ([0, 3], 1), (Ellipsis, [2, 0]), (1, slice(None), 2)]:
        assert_same(pe[key], pt[key])
    assert_same(pe[pe > 0], pt[pt > 0])


def test_getitem_0d_and_scalars():
    e = ember.tensor(3.0)
    t = torch.tensor(3.0)
    assert_same(e[None], t[None])
    assert_same(e[...], t[...])
    assert_same(e[()], t[()])
    assert_same(e[e > 0], t[t > 0])


SET_CASES = [
    (0, lambda L: 5.0),
    ((slice(None), 1), lambda L: L.tensor([1.0, 2.0, 3.0])),
    ((slice(None), slice(1, 3)), lambda L: L.tensor([7.0, 8.0])),
    ([0, 2], lambda L: L.tensor(9.0)),
    (([0, 2], [1, 3]), lambda L: L.tensor([4.0, 5.0])),
    ((Ellipsis, -1), lambda L: L.zeros(3)),
    ((1, None), lambda L: -1.0),
    ((slice(None, None, 2),), lambda L: L.ones(2, 4)),
]


@pytest.mark.parametrize("key,val", SET_CASES, ids=[repr(k) for k, _ in SET_CASES])
def test_setitem_values(key, val):
    e, t = _pair()
    e[key] = val(ember)
    t[key] = val(torch)
    assert_same(e, t)


def test_setitem_masks_and_dtypes():
    e, t = _pair()
    e[e < 0] = 0
    t[t < 0] = 0
    assert_same(e, t)
    ei = ember.zeros(3, dtype=ember.int64)
    ti = torch.zeros(3, dtype=torch.int64)
    ei[1] = 2.7
    ti[1] = 2.7
    assert_same(ei, ti)
    ei[ember.tensor([0, 2])] = ember.tensor([5, 6])
    ti[torch.tensor([0, 2])] = torch.tensor([5, 6])
    assert_same(ei, ti)
    e[:, 0] = ember.tensor([1, 2, 3])  # int value into a float tensor
    t[:, 0] = torch.tensor([1, 2, 3])
    assert_same(e, t)


def test_setitem_bumps_version_and_views_see_it():
    e = ember.zeros(3, 3)
    v = e[0]
    before = e._version
    e[0, 1] = 1
    assert e._version == before + 1
    assert v.tolist() == [0, 1, 0]


def test_setitem_gradients():
    xe, xt = _pair()
    xe.requires_grad_()
    xt.requires_grad_()
    ve = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    vt = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ye, yt = xe * 2, xt * 2
    ye[:, 1] = ve * 3
    yt[:, 1] = vt * 3
    ye[0] = 0.5
    yt[0] = 0.5
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    assert_same(xe.grad, xt.grad)
    assert_same(ve.grad, vt.grad)
    assert ye.grad_fn.name() == yt.grad_fn.name() == "torch::autograd::CopySlices"


def test_setitem_broadcast_gradient():
    ve = ember.tensor([1.0, 2.0], requires_grad=True)
    vt = torch.tensor([1.0, 2.0], requires_grad=True)
    ye, yt = ember.zeros(3, 2), torch.zeros(3, 2)
    ye[1:] = ve
    yt[1:] = vt
    (ye * ember.arange(6.0).view(3, 2)).sum().backward()
    (yt * torch.arange(6.0).view(3, 2)).sum().backward()
    assert_same(ve.grad, vt.grad)


@pytest.mark.parametrize(
    "key",
    [
        0,
        (slice(None), 1),
        [0, 0, 2],
        ([0, 1], [1, 1]),
        (Ellipsis, slice(1, 3)),
        (slice(None, None, -1) if False else slice(None, None, 2), None),
    ],
)
def test_getitem_gradients(key):
    xe, xt = _pair()
    xe.requires_grad_()
    xt.requires_grad_()
    ge, gt = _pair(tuple(xt[key].shape), seed=1)
    (xe[key] * ge).sum().backward()
    (xt[key] * gt).sum().backward()
    assert_same(xe.grad, xt.grad)


def test_getitem_mask_gradient():
    xe, xt = _pair()
    xe.requires_grad_()
    xt.requires_grad_()
    (xe[xe.detach() > 0] ** 2).sum().backward()
    (xt[xt.detach() > 0] ** 2).sum().backward()
    assert_same(xe.grad, xt.grad)


def test_view_gradients_through_chain():
    xe, xt = _pair((2, 3, 4))
    xe.requires_grad_()
    xt.requires_grad_()

    def f(x):
        return (x.permute(2, 0, 1).reshape(4, 6)[1:, ::2].unsqueeze(0).expand(2, 3, 3) * 1.5).sum()

    f(xe).backward()
    f(xt).backward()
    assert_same(xe.grad, xt.grad)


def test_inplace_on_view_of_nonleaf_gradient():
    xe, xt = _pair((3,))
    xe.requires_grad_()
    xt.requires_grad_()
    ye, yt = xe * 1, xt * 1
    ye[1:].mul_(3)
    yt[1:].mul_(3)
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    assert_same(xe.grad, xt.grad)


def test_index_errors():
    e, t = _pair()
    for key in [5, (0, 7), (0, 0, 0)]:
        with pytest.raises(IndexError):
            t[key]
        with pytest.raises(IndexError):
            e[key]
    with pytest.raises(IndexError):
        t[1.5]
    with pytest.raises(IndexError):
        e[1.5]
    with pytest.raises(IndexError):
        t[torch.tensor([0.0])]
    with pytest.raises(IndexError):
        e[ember.tensor([0.0])]
    with pytest.raises(IndexError):
        e[ember.tensor([9])]
    with pytest.raises(IndexError):
        t[torch.tensor([9])]


def test_masked_fill_and_nonzero():
    e, t = _pair()
    assert_same(e.masked_fill(e > 0, -1.0), t.masked_fill(t > 0, -1.0))
    assert_same(
        e.masked_fill(ember.tensor([True, False, True, False]), 2),
        t.masked_fill(torch.tensor([True, False, True, False]), 2),
    )
    e2, t2 = e.clone(), t.clone()
    e2.masked_fill_(e2 < 0, 0)
    t2.masked_fill_(t2 < 0, 0)
    assert_same(e2, t2)
    assert_same(ember.nonzero(e > 0), torch.nonzero(t > 0))
    assert_same(ember.nonzero(e > 0, as_tuple=True), torch.nonzero(t > 0, as_tuple=True))
    assert_same(ember.argwhere(e > 0), torch.argwhere(t > 0))
    xe = e.clone().requires_grad_()
    xt = t.clone().requires_grad_()
    (xe.masked_fill(xe > 0, 0.0) ** 2).sum().backward()
    (xt.masked_fill(xt > 0, 0.0) ** 2).sum().backward()
    assert_same(xe.grad, xt.grad)
    with pytest.raises(RuntimeError):
        t.masked_fill(t.long(), 1.0)
    with pytest.raises(RuntimeError):
        e.masked_fill(e.long(), 1.0)


def test_inplace_on_permuted_view_and_setitem_on_view_gradients():
    xe, xt = _pair((3, 4))
    xe.requires_grad_()
    xt.requires_grad_()
    ye, yt = xe.exp(), xt.exp()
    ze, zt = ye * 1, yt * 1
    ze.t()[1].mul_(2)
    zt.t()[1].mul_(2)
    ze[0][1:3] = 0.0
    zt[0][1:3] = 0.0
    (ze**2).sum().backward()
    (zt**2).sum().backward()
    assert_same(xe.grad, xt.grad)


def test_inplace_on_view_of_leaf_raises():
    xe = ember.ones(3, requires_grad=True)
    xt = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        xt[1:].mul_(2)
    with pytest.raises(RuntimeError):
        xe[1:].mul_(2)
    with torch.no_grad():
        xt[1:].mul_(2)
    with ember.no_grad():
        xe[1:].mul_(2)
    assert_same(xe, xt)


def test_element_index_is_a_view():
    e, t = _pair((2, 3))
    ve, vt = e[1, 2], t[1, 2]
    ve.fill_(9.0)
    vt.fill_(9.0)
    assert_same(e, t)
    e1 = ember.arange(4.0)
    e1[2].add_(10)
    assert e1.tolist() == [0.0, 1.0, 12.0, 3.0]
    xe = ember.ones(3, requires_grad=True)
    y = xe * 2
    y[1].mul_(3)
    y.sum().backward()
    assert xe.grad.tolist() == [2.0, 6.0, 2.0]


def _random_key(rng, shape, lib):
    key, i, used_ell = [], 0, False
    while i < len(shape):
        c, n = rng.random(), shape[i]
        if c < 0.2:
            key.append(rng.randrange(-n, n))
            i += 1
        elif c < 0.45:
            key.append(
                slice(
                    rng.randrange(-n - 1, n + 1),
                    rng.randrange(-n - 1, n + 2),
                    rng.choice([None, 1, 2]),
                )
            )
            i += 1
        elif c < 0.55:
            key.append(None)
        elif c < 0.65 and not used_ell:
            key.append(Ellipsis)
            used_ell = True
            i += rng.randrange(0, len(shape) - i + 1)
        elif c < 0.8:
            idx = [rng.randrange(-n, n) for _ in range(rng.randrange(1, 4))]
            key.append(lib.tensor(idx) if rng.random() < 0.5 else idx)
            i += 1
        else:
            key.append(lib.tensor([rng.random() < 0.5 for _ in range(n)]))
            i += 1
        if rng.random() < 0.2:
            break
    return tuple(key)


@pytest.mark.parametrize("seed", range(0, 400, 4))
def test_random_keys_get_set_and_grad(seed):
    """Random mixes of ints, slices, None, ..., index lists/tensors and masks: torch's shapes
    (ints apply before the arrays, as torch does), values, gradients and assignments."""
    import random

    for trial in range(seed, seed + 4):
        shape = tuple(
            random.Random(trial).randrange(1, 5)
            for _ in range(random.Random(-trial).randrange(1, 4))
        )
        a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        ke = _random_key(random.Random(trial), shape, ember)
        kt = _random_key(random.Random(trial), shape, torch)
        te, tt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        try:
            rt = tt[kt]
        except Exception as ex:  # noqa: BLE001
            with pytest.raises(type(ex)):
                te[ke]
            continue
        re_ = te[ke]
        assert_same(re_, rt)
        g = np.random.default_rng(trial).standard_normal(tuple(rt.shape))
        (rt * torch.tensor(g)).sum().backward()
        (re_ * ember.tensor(g)).sum().backward()
        assert_same(te.grad, tt.grad)
        v = np.random.default_rng(trial + 1).standard_normal(tuple(rt.shape))
        ye, yt = ember.tensor(a), torch.tensor(a)
        yt[kt] = torch.tensor(v)
        ye[ke] = ember.tensor(v)
        dup = any(isinstance(k, list) and len(set(k)) < len(k) for k in ke) or any(
            isinstance(k, ember.Tensor)
            and k.dtype is ember.int64
            and len(set(k.tolist())) < k.numel()
            for k in ke
        )
        if not dup:  # with repeated indices the winning write is unspecified
            assert_same(ye, yt)


_IP_OPS = [
    ("mul_", 3.0),
    ("add_", 1.5),
    ("sub_", "w"),
    ("mul_", "w"),
    ("div_", 2.0),
    ("clamp_", (-0.5, 0.5)),
    ("relu_", None),
    ("exp_", None),
    ("sigmoid_", None),
    ("pow_", 2),
    ("copy_", "w"),
    ("fill_", 2.0),
    ("zero_", None),
    ("abs_", None),
]
_IP_VIEWS = [
    lambda y: y[1:],
    lambda y: y[:, 1],
    lambda y: y.t()[0],
    lambda y: y[0],
    lambda y: y.view(-1)[2:5],
    lambda y: y.unsqueeze(0)[0, 1:],
    lambda y: y[..., ::2],
    lambda y: y.transpose(0, 1),
]


@pytest.mark.parametrize("seed", range(40))
def test_inplace_through_views_of_nonleaf_gradients(seed):
    """An in-place op on a view of a non-leaf rewrites the base's history (torch's CopySlices):
    values of base and view and the gradients of everything involved match torch."""
    import random

    rng = random.Random(seed)
    op, arg = rng.choice(_IP_OPS)
    vf = rng.choice(_IP_VIEWS)
    a = np.random.default_rng(seed).standard_normal((3, 4))
    res = []
    for L in (ember, torch):
        x = L.tensor(a, requires_grad=True)
        y = x * 1.5
        v = vf(y)
        w = L.tensor(
            np.random.default_rng(seed + 1).standard_normal(tuple(v.shape)), requires_grad=True
        )
        args = (
            (w,) if arg == "w" else arg if isinstance(arg, tuple) else () if arg is None else (arg,)
        )
        getattr(v, op)(*args)
        ((y * y * L.arange(12.0, dtype=L.float64).view(3, 4)).sum() + (v * 2).sum()).backward()
        res.append((y, x.grad, w.grad))
    (ye, gxe, gwe), (yt, gxt, gwt) = res
    assert_same(ye, yt)
    assert_same(gxe, gxt)
    if gwt is None:
        assert gwe is None or not gwe.numpy().any()
    else:
        assert_same(gwe, gwt)


SETITEM_DTYPE_CASES = {
    "tensor index": lambda m: m.zeros(6, dtype=m.float16).__setitem__(
        m.tensor([0, 2]), m.tensor([1.0, 2.0], dtype=m.float64)
    ),
    "tensor index, 0-d value": lambda m: m.zeros(6).__setitem__(
        m.tensor([0, 2]), m.tensor(1.0, dtype=m.float64)
    ),
    "tensor index, int value": lambda m: m.zeros(6).__setitem__(m.tensor([0, 2]), m.tensor([1, 2])),
    "list index": lambda m: m.zeros(6).__setitem__([0, 2], m.tensor([1.0, 2.0], dtype=m.float64)),
    "mask, two values": lambda m: m.zeros(3).__setitem__(
        m.tensor([True, False, True]), m.tensor([1.0, 2.0], dtype=m.float64)
    ),
    "mask, one value": lambda m: m.zeros(3, 2).__setitem__(
        m.tensor([True, False, True]), m.tensor([2.0], dtype=m.float64)
    ),
    "mask and int, 0-d value": lambda m: m.zeros(3, 2).__setitem__(
        (m.tensor([True, False, True]), 0), m.tensor(2.0, dtype=m.float64)
    ),
    "0-d bool index": lambda m: m.zeros(3).__setitem__(
        m.tensor(True), m.tensor(2.0, dtype=m.float64)
    ),
    "0-d int index": lambda m: m.zeros(3).__setitem__(m.tensor(1), m.tensor(2.0, dtype=m.float64)),
    "slice": lambda m: m.zeros(6).__setitem__(slice(0, 2), m.tensor([1.0, 2.0], dtype=m.float64)),
    "slice and tensor": lambda m: m.zeros(3, 3).__setitem__(
        (slice(None), m.tensor([0, 2])), m.ones(3, 2, dtype=m.float64)
    ),
    "with grad": lambda m: m.zeros(3).__setitem__(
        m.tensor([0]), m.tensor([2.0], dtype=m.float64, requires_grad=True)
    ),
    "python float": lambda m: m.zeros(6, dtype=m.float16).__setitem__(m.tensor([0, 2]), 1.5),
}


@pytest.mark.parametrize("case", list(SETITEM_DTYPE_CASES))
def test_advanced_assignment_of_another_dtype_as_torch(case):
    """t[index] = value of another dtype: basic indexing converts it, advanced indexing raises
    torch's index_put_ error unless it is a masked fill (one boolean mask, one value)."""
    outcomes = []
    for lib in (ember, torch):
        try:
            SETITEM_DTYPE_CASES[case](lib)
            outcomes.append("ok")
        except RuntimeError as e:
            outcomes.append(str(e))
    assert outcomes[0] == outcomes[1]
