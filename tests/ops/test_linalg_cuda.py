"""torch.linalg on CUDA tensors through the CuPy stand-in (tests/_support/fake_cupy.py): the
decompositions stay on the device and give the CPU's values and gradients."""

import numpy as np
import pytest

import ember
from tests._support.cuda import _backend_fixture, _host, _on_cuda  # noqa: F401

L = ember.linalg


def _spd(a):
    return a @ a.mT + 4 * ember.eye(a.shape[-1], dtype=a.dtype, device=a.device)


CASES = {
    "solve": (lambda a, b: L.solve(a, b), [(2, 4, 4), (2, 4, 3)]),
    "inv": (lambda a: L.inv(a), [(3, 3)]),
    "det": (lambda a: L.det(a), [(2, 3, 3)]),
    "slogdet": (lambda a: L.slogdet(a)[1], [(3, 3)]),
    "cholesky": (lambda a: L.cholesky(_spd(a)), [(2, 3, 3)]),
    "qr": (lambda a: L.qr(a).R, [(4, 3)]),
    "eigh": (lambda a: L.eigvalsh(_spd(a)), [(3, 3)]),
    "svd": (lambda a: L.svdvals(a), [(4, 3)]),
    "lu": (lambda a: L.lu_factor(a)[0], [(2, 4, 4)]),
    "pinv": (lambda a: L.pinv(a), [(4, 3)]),
    "matrix_exp": (lambda a: L.matrix_exp(a), [(3, 3)]),
    "norm": (lambda a: L.matrix_norm(a, 2), [(3, 4)]),
    "solve_triangular": (
        lambda a, b: L.solve_triangular(a + 3 * ember.eye(3, device=a.device), b, upper=True),
        [(3, 3), (3, 2)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_linalg_on_device_matches_cpu(name):
    fn, shapes = CASES[name]
    rng = np.random.default_rng(0)
    cpu = [
        ember.from_numpy(rng.standard_normal(s).astype(np.float64)).requires_grad_() for s in shapes
    ]
    dev = [x.detach().cuda().requires_grad_() for x in cpu]
    yc, yd = fn(*cpu), fn(*dev)
    assert _on_cuda(yd), "result left the device"
    np.testing.assert_allclose(_host(yd), _host(yc), rtol=1e-8, atol=1e-10)
    w = rng.standard_normal(tuple(yc.shape))
    (yc * ember.from_numpy(w)).sum().backward()
    (yd * ember.from_numpy(w).cuda()).sum().backward()
    for a, b in zip(cpu, dev):
        assert _on_cuda(b.grad)
        np.testing.assert_allclose(_host(b.grad), _host(a.grad), rtol=1e-7, atol=1e-9)
