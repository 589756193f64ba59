"""Finite-difference gradient checks (float64), as torch.autograd.gradcheck."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _wrap
from .engine import grad as _grad


class GradcheckError(RuntimeError):
    pass


def _flat_outputs(fn, inputs):
    out = fn(*inputs)
    return (out,) if isinstance(out, Tensor) else tuple(out)


def gradcheck(
    func,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **_ignored,
) -> bool:
    """Compare analytical gradients with central differences for every input needing grad."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff_in = [t for t in inputs if isinstance(t, Tensor) and t._rg]
    outputs = _flat_outputs(func, inputs)
    for oi, out in enumerate(outputs):
        if not (out.is_floating_point() or out.is_complex()) or not out._rg:
            continue
        n_out = out._data.size
        analytical = [np.zeros((t._data.size, n_out)) for t in diff_in]
        for j in range(n_out):
            go = np.zeros(out._data.shape, out._data.dtype)
            go.reshape(-1)[j] = 1

            gs = _grad([_flat_outputs(func, inputs)[oi]], diff_in, [_wrap(go)], allow_unused=True)
            for k, g in enumerate(gs):
                if g is not None:
                    analytical[k][:, j] = g._data.reshape(-1)
        for k, t in enumerate(diff_in):
            numerical = np.zeros((t._data.size, n_out))
            arr = t._data  # perturbed in place (works for non-contiguous inputs too)
            for i, idx in enumerate(np.ndindex(arr.shape)):
                orig = arr[idx].item()
                # grad mode stays on: func may itself differentiate (gradgradcheck)
                arr[idx] = orig + eps
                plus = _flat_outputs(func, inputs)[oi]._data.astype(np.float64).copy()
                arr[idx] = orig - eps
                minus = _flat_outputs(func, inputs)[oi]._data.astype(np.float64).copy()
                arr[idx] = orig
                numerical[i] = ((plus - minus) / (2 * eps)).reshape(-1)
            if not np.allclose(analytical[k], numerical, rtol=rtol, atol=atol):
                if raise_exception:
                    raise GradcheckError(
                        f"Jacobian mismatch for output {oi} with respect to input {k},\n"
                        f"numerical:{numerical}\nanalytical:{analytical[k]}\n"
                    )
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, **kw) -> bool:
    """gradcheck of the first derivative (built with create_graph=True)."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff_in = [t for t in inputs if isinstance(t, Tensor) and t._rg]

    def first(*xs):
        out = func(*xs)
        return _grad(
            [out.sum()], [x for x in xs if isinstance(x, Tensor) and x._rg], create_graph=True
        )

    del diff_in
    return gradcheck(first, inputs, **kw)
