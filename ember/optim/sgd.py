"""SGD with momentum, dampening, Nesterov, weight decay and maximize."""

from __future__ import annotations

import numpy as np

from .._backend import kernels
from .._backend.cpu import blas_routines, gemm
from .._backend.xp import xp_of
from ..autograd.engine import _scatter_sparse, _sparse_add_, _sparse_copy, _sparse_sum
from ..tensor import Tensor
from ._arg_checks import check_hyperparameters
from .optimizer import Optimizer

# torch's error where its SGD adds a dense tensor to a sparse one (weight decay on a sparse
# gradient, a dense gradient into a sparse momentum buffer, ...)
_SPARSE_PLUS_DENSE = "add(sparse, dense) is not supported. Use add(dense, sparse) instead."

__all__ = ["SGD"]


@kernels.fused(
    "sgd_step",
    "T g, T lr, T wd, T mom, T damp, T sgn, int32 first, int32 nesterov",
    "T p, T buf",
    "T d = sgn * g + wd * p;"
    "buf = first ? d : mom * buf + damp * d;"
    "p -= lr * (nesterov ? d + mom * buf : buf);",
)
def _sgd_step_kernel(g, lr, wd, mom, damp, sgn, first, nesterov, p, buf):
    """SGD with momentum, dampening, nesterov, weight decay and maximize, in one pass (in place
    on the flat parameter and momentum buffers)."""
    dt = p.dtype.type
    d = dt(sgn) * g + dt(wd) * p
    if first:
        buf[...] = d
    else:
        buf[...] = dt(mom) * buf + dt(damp) * d
    p -= dt(lr) * (d + dt(mom) * buf if nesterov else buf)
    return p, buf


def _blas_step(group: dict, p, g, buf) -> bool:
    """The step through the BLAS's one-pass updates (``blas_routines``), all or nothing; False,
    with nothing changed, where it cannot run (then NumPy's passes do the step). With d = sgn g
    + wd p (sgn -1 under maximize):
    no momentum: p = (1 - lr wd) p - lr sgn g, one pass;
    momentum: buf = mom buf + damp sgn g (+ damp wd p), then p -= lr buf, two or three passes
    (NumPy: four to six); Nesterov: p = (1 - lr wd) p - lr sgn g - lr mom buf.
    The first momentum step (no buffer yet) and a zero lr or dampening of 1 take NumPy's way."""
    lr = float(group["lr"])
    wd = float(group["weight_decay"])
    mom = group["momentum"]
    sgn = -1.0 if group["maximize"] else 1.0
    keep = 1.0 - lr * wd
    if lr == 0 or keep == 0:
        return False
    if mom == 0:
        if not blas_routines.fits(g, p):
            return False
        with gemm.guard():  # off OpenBLAS's threads where they would spin into ember's
            if wd == 0:
                return blas_routines.axpy(-lr * sgn, g, p)
            return blas_routines.axpby(-lr * sgn, g, keep, p)
    damp = 1.0 - group["dampening"]
    if buf is None or damp == 0 or not blas_routines.fits(g, p, buf):
        return False
    with gemm.guard():
        blas_routines.axpby(damp * sgn, g, mom, buf)
        if wd != 0:
            blas_routines.axpy(damp * wd, p, buf)
        if group["nesterov"]:
            blas_routines.axpby(-lr * sgn, g, keep, p)
            blas_routines.axpy(-lr * mom, buf, p)
        else:
            blas_routines.axpy(-lr, buf, p)
    return True


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD`` (fused flat update).

    Sparse gradients as torch: momentum keeps a sparse buffer (its entries appended each
    step), weight decay raises torch's ``add(sparse, dense)`` error.
    """

    _elementwise = True
    _sparse_error = None

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_hyperparameters(lr=lr, momentum=momentum, weight_decay=weight_decay, nan_ok=True)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)

    def _names(self, group: dict) -> tuple:
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _in_pieces(self, group: dict) -> bool:
        # whole tensors for the BLAS's one-pass updates; L2-sized pieces for NumPy's passes
        return not blas_routines.available()

    def _kernel(self, group: dict, p, g, bufs: dict, step, s) -> dict:
        xp = xp_of(p)
        if xp is not np and kernels.on_device(p):
            return self._fused(group, p, g, bufs, s if s is not g else xp.empty_like(p))
        if xp is np and _blas_step(group, p, g, bufs.get("momentum_buffer")):
            return {}
        lr = float(group["lr"])
        wd = group["weight_decay"]
        mom = group["momentum"]
        d = g
        if group["maximize"]:
            xp.negative(g, out=s)
            d = s
        if wd != 0:
            if d is s:
                s += wd * p
            else:
                xp.multiply(p, wd, out=s)
                s += d
                d = s
        new = {}
        if mom != 0:
            buf = bufs.get("momentum_buffer")
            if buf is None:
                buf = new["momentum_buffer"] = d.copy()
            else:
                buf *= mom
                damp = 1 - group["dampening"]
                if damp == 1:
                    buf += d
                else:
                    xp.multiply(d, damp, out=s)
                    buf += s
            if group["nesterov"]:
                if d is s:
                    s += mom * buf
                else:
                    xp.multiply(buf, mom, out=s)
                    s += d
                d = s
            else:
                d = buf
        xp.multiply(d, lr, out=s)
        p -= s
        return new

    def _sparse_kernel(self, group: dict, p: Tensor, g: Tensor, st: dict, step) -> None:
        # torch's single-tensor SGD, each step on the layout it has: sparse + sparse stays
        # sparse, dense + sparse is dense, sparse + dense raises
        d = -g if group["maximize"] else g
        if group["weight_decay"] != 0:
            if d._sparse:
                raise RuntimeError(_SPARSE_PLUS_DENSE)
            d = d + group["weight_decay"] * p
        mom = group["momentum"]
        if mom != 0:
            buf = st.get("momentum_buffer")
            if buf is None:
                buf = st["momentum_buffer"] = _sparse_copy(d) if d._sparse else d.clone()
            else:
                buf._data *= mom
                damp = 1 - group["dampening"]
                if buf._sparse:
                    if not d._sparse:
                        raise RuntimeError(_SPARSE_PLUS_DENSE)
                    _sparse_add_(buf, d, damp)
                else:  # a dense buffer from earlier dense steps
                    _scatter_sparse(buf._data, d, damp)
            if group["nesterov"]:
                if d._sparse and not buf._sparse:
                    raise RuntimeError(_SPARSE_PLUS_DENSE)
                d = _sparse_sum(d, buf, mom) if d._sparse else d + mom * buf
            else:
                d = buf
        lr = float(group["lr"])
        if d._sparse:
            _scatter_sparse(p._data, d, -lr)
        else:
            p._data -= lr * d._data

    @staticmethod
    def _fused(group: dict, p, g, bufs: dict, s) -> dict:
        """The whole update as one CUDA kernel (``_sgd_step_kernel``)."""
        mom = float(group["momentum"])
        new = {}
        buf = bufs.get("momentum_buffer")
        first = buf is None
        if mom != 0 and first:
            buf = new["momentum_buffer"] = s.copy()
        elif mom == 0:
            buf, first = s, True  # no momentum: the buffer is scratch holding d
        _sgd_step_kernel(
            g,
            float(group["lr"]),
            float(group["weight_decay"]),
            mom,
            1.0 - float(group["dampening"]),
            -1.0 if group["maximize"] else 1.0,
            int(first),
            int(bool(group["nesterov"])),
            p,
            buf,
        )
        return new
