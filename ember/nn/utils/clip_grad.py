"""Gradient clipping: by total norm (one fused pass) or by value."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..._backend.xp import CPU_ARRAY, is_cpu, xp_of
from ...tensor import Tensor, _wrap

__all__ = [
    "clip_grad_norm_",
    "clip_grad_norm",
    "clip_grad_value_",
    "get_total_norm",
    "clip_grads_with_norm_",
]


def _grads_of(parameters) -> list:
    return _grads(parameters)


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _refuse_sparse(tensors: list, op: str) -> None:
    """torch's error where its ``aten::<op>`` meets a sparse gradient (it has no sparse kernel
    for the norm or the clamp), raised before any gradient changes, as torch's."""
    for t in tensors:
        if t._sparse:
            backend = "SparseCPU" if is_cpu(t._data) else "SparseCUDA"
            raise NotImplementedError(
                f"Could not run 'aten::{op}' with arguments from the '{backend}' backend. This "
                "could be because the operator doesn't exist for this backend, or was omitted "
                "during the selective/custom build process (if using custom build)."
            )


def get_total_norm(
    tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """The norm of the norms of the given tensors.

    As torch: a sparse tensor among them raises torch's NotImplementedError (no sparse norm).
    """
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return _wrap(np.asarray(0.0, np.float32))
    _refuse_sparse(tensors, "linalg_vector_norm")
    dt = tensors[0]._data.dtype
    if not is_cpu(tensors[0]._data):
        return _wrap(_device_norm([t._data for t in tensors], norm_type, error_if_nonfinite))
    if norm_type == math.inf:
        total = max(float(np.abs(t._host()).max()) if t._data.size else 0.0 for t in tensors)
    elif norm_type == -math.inf:
        total = min(float(np.abs(t._host()).min()) for t in tensors)
    elif norm_type == 2.0:
        total = math.sqrt(sum(float(np.vdot(a, a)) for a in (t._host().ravel() for t in tensors)))
    else:
        total = sum(float((np.abs(t._host()) ** norm_type).sum()) for t in tensors)
        total = total ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return _wrap(np.asarray(total, dt))


def clip_grad_norm_(
    parameters: Iterable[Tensor] | Tensor,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach=None,
) -> Tensor:
    """Scale all gradients so their total norm is at most max_norm; returns the norm."""
    grads = _grads(parameters)
    if not grads:
        return _wrap(np.asarray(0.0, np.float32))
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(
        parameters if not isinstance(parameters, Tensor) else [parameters],
        max_norm,
        total,
        _grads=grads,
    )
    return total


def clip_grads_with_norm_(
    parameters, max_norm: float, total_norm, foreach=None, _grads=None
) -> None:
    """Scale the gradients by max_norm / (total_norm + 1e-6) when that is below 1 (a sparse
    gradient's values too, as torch)."""
    grads = _grads if _grads is not None else _grads_of(parameters)
    if isinstance(total_norm, Tensor) and not is_cpu(total_norm._data):
        # on the GPU: scale by min(coef, 1) on the device, never reading the norm back
        coef = (float(max_norm) / (total_norm._data + 1e-6)).clip(None, 1.0)
        for g in grads:
            g._data *= coef.astype(g._data.dtype)
            g._bump()
        return
    coef = float(max_norm) / (float(total_norm) + 1e-6)
    if coef < 1.0:
        for g in grads:
            g._data *= g._data.dtype.type(coef)
            g._bump()


clip_grad_norm = clip_grad_norm_


def _device_norm(arrays: list, norm_type: float, error_if_nonfinite: bool):
    """The total norm of device arrays, computed and kept on the device (no host copy unless
    ``error_if_nonfinite`` asks to look at it)."""
    xp = xp_of(arrays[0])
    flat = [a.ravel() for a in arrays if a.size]
    if not flat:
        total = xp.zeros((), arrays[0].dtype)
    elif norm_type == math.inf:
        total = xp.stack([xp.abs(a).max() for a in flat]).max()
    elif norm_type == -math.inf:
        total = xp.stack([xp.abs(a).min() for a in flat]).min()
    elif norm_type == 2.0:
        total = xp.sqrt(xp.stack([a @ a for a in flat]).sum())
    else:
        total = xp.stack([(xp.abs(a) ** norm_type).sum() for a in flat]).sum()
        total = total ** (1.0 / norm_type)
    total = total.astype(arrays[0].dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return total


def clip_grad_value_(
    parameters: Iterable[Tensor] | Tensor, clip_value: float, foreach=None
) -> None:
    """Clamp every gradient element to [-clip_value, clip_value].

    As torch: a sparse gradient raises torch's NotImplementedError (no sparse clamp).
    """
    clip_value = float(clip_value)
    grads = _grads(parameters)
    if any(g._sparse for g in grads):
        _clip_up_to_sparse(grads, clip_value, foreach)
    for g in grads:
        np.clip(g._data, -clip_value, clip_value, out=g._data) if type(
            g._data
        ) is CPU_ARRAY else g._data.clip(-clip_value, clip_value, out=g._data)
        g._bump()


def _clip_up_to_sparse(grads: list, clip_value: float, foreach) -> None:
    """What torch clips before its clamp meets a sparse gradient and raises: it takes the
    gradients in groups of one device and dtype (the last group first) and, in a group, clamps
    each in turn (``foreach=False``) or clamps the minimum of each then the maximum."""
    groups: dict = {}
    for g in grads:
        groups.setdefault((g.device, g.dtype), []).append(g)
    for group in reversed(list(groups.values())):
        for g in group:
            _refuse_sparse([g], "clamp_" if foreach is False else "clamp_min_")
            hi = clip_value if foreach is False else None
            g._data[...] = g._data.clip(-clip_value, hi)
            g._bump()
        if foreach is not False:
            for g in group:
                g._data[...] = g._data.clip(None, clip_value)
