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
        # complex tensors are checked as real ones of twice the size (real and imaginary parts
        # interleaved, as view_as_real): the real Jacobian's columns are the output's parts,
        # its rows the inputs'. Backward with a grad_output of 1 (or 1j) at element j gives
        # the row of the gradient of Re(out[j]) (or Im(out[j])); torch's gradient of a real
        # function of z = a + ib is dL/da + i dL/db, so its real view is that row
        parts = 2 if out.is_complex() else 1
        n_out = out._data.size
        analytical = [np.zeros((_real_size(t), n_out * parts)) for t in diff_in]
        for j in range(n_out):
            for c in range(parts):
                go = np.zeros(out._data.shape, out._data.dtype)
                go.reshape(-1)[j] = 1j if c else 1
                gs = _grad(
                    [_flat_outputs(func, inputs)[oi]], diff_in, [_wrap(go)], allow_unused=True
                )
                for k, g in enumerate(gs):
                    if g is not None:
                        analytical[k][:, j * parts + c] = _real_parts(g._data, diff_in[k])
        for k, t in enumerate(diff_in):
            numerical = np.zeros((_real_size(t), n_out * parts))
            arr = t._data  # perturbed in place (works for non-contiguous inputs too)
            steps = (eps, eps * 1j) if arr.dtype.kind == "c" else (eps,)
            row = 0
            for idx in np.ndindex(arr.shape):
                orig = arr[idx].item()
                for step in steps:
                    # grad mode stays on: func may itself differentiate (gradgradcheck)
                    arr[idx] = orig + step
                    plus = _as_f64(_flat_outputs(func, inputs)[oi]._data)
                    arr[idx] = orig - step
                    minus = _as_f64(_flat_outputs(func, inputs)[oi]._data)
                    arr[idx] = orig
                    d = (plus - minus) / (2 * eps)
                    numerical[row] = (d.view(np.float64) if parts == 2 else d).reshape(-1)
                    row += 1
            if not np.allclose(analytical[k], numerical, rtol=rtol, atol=atol):
                if raise_exception:
                    raise GradcheckError(
                        f"Jacobian mismatch for output {oi} with respect to input {k},\n"
                        f"numerical:{numerical}\nanalytical:{analytical[k]}\n"
                    )
                return False
    return True


def _real_size(t: Tensor) -> int:
    """The number of real values in ``t`` (a complex element counts two)."""
    return t._data.size * (2 if t._data.dtype.kind == "c" else 1)


def _real_parts(g, t: Tensor):
    """A gradient for ``t`` as a flat real array, real and imaginary parts interleaved when
    ``t`` is complex."""
    g = np.asarray(g).reshape(-1)
    if t._data.dtype.kind == "c":
        return np.ascontiguousarray(g, np.complex128).view(np.float64)
    return g.real if g.dtype.kind == "c" else g


def _as_f64(a):
    """An output as float64 (complex128 for complex): the differences are taken in double."""
    return np.array(a, np.complex128 if a.dtype.kind == "c" else np.float64)


def gradgradcheck(func, inputs, grad_outputs=None, **kw) -> bool:
    """gradcheck of the first derivative (built with create_graph=True) with respect to the
    inputs and to the outputs' gradients ``grad_outputs`` (random, as torch draws them, where
    not given); ``func`` may return a Tensor or a tuple of them."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    outs = _flat_outputs(func, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = []
        for o in outs:
            a = rng.standard_normal(o._data.shape)
            if o._data.dtype.kind == "c":
                a = a + 1j * rng.standard_normal(o._data.shape)
            grad_outputs.append(_wrap(np.asarray(a).astype(o._data.dtype)).requires_grad_())
    else:
        grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else grad_outputs
    grad_outputs = tuple(grad_outputs)
    n = len(inputs)

    def first(*args):
        xs, gos = args[:n], args[n:]
        pairs = [(o, go) for o, go in zip(_flat_outputs(func, xs), gos) if o._rg]
        return _grad(
            [o for o, _ in pairs],
            [x for x in xs if isinstance(x, Tensor) and x._rg],
            [go for _, go in pairs],
            create_graph=True,
        )

    return gradcheck(first, inputs + grad_outputs, **kw)
