"""DistributedDataParallel: one model replica per process, gradients averaged across processes.

At construction the parameters and buffers are broadcast from rank 0. Parameters are packed
(in reverse registration order, roughly the order backward produces their gradients) into
buckets of about ``bucket_cap_mb`` megabytes each. A hook on every parameter's gradient
accumulator copies the incoming gradient into its bucket; when a bucket is full it is averaged
across ranks with one non-blocking ``Iallreduce`` while backward goes on. The last gradient to
arrive waits for every bucket and writes the averaged values into the parameters' ``.grad``.
Buckets are always launched in index order, so every rank issues the same collectives in the
same order.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator

import numpy as np

from ..._backend.xp import CPU_ARRAY, is_cpu, xp_of
from ...autograd.grad_mode import is_grad_enabled
from ...distributed import broadcast
from ...distributed._nccl import _cp
from ...distributed.process_group import _mpi, _resolve, _wait_requests
from ...tensor import Tensor, _wrap
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1 << 20  # a small first bucket gets communication going early


class _Bucket:
    """Several parameters' gradients packed into one flat buffer (one message)."""

    __slots__ = ("params", "views", "buffer", "pending", "ready", "req", "host", "stream")

    def __init__(self, params: list, xp):
        total = sum(int(p._data.size) for p in params)
        self.params = params
        self.buffer = xp.zeros(total, params[0]._data.dtype)
        self.views = []
        off = 0
        for p in params:
            n = int(p._data.size)
            self.views.append(self.buffer[off : off + n].reshape(p._data.shape))
            off += n
        self.pending = len(params)
        self.ready = False
        self.req = None
        self.host = None
        self.stream = None


def _tensors_in(obj) -> Iterator[Tensor]:
    """Every Tensor inside a (nested) forward output."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _tensors_in(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors_in(o)


def _reachable_leaves(outputs) -> set:
    """ids of the leaf tensors whose gradient accumulators the outputs' graphs reach."""
    seen = set()
    found = set()
    stack = [
        t.grad_fn if t.grad_fn is not None else t._accum for t in _tensors_in(outputs) if t._rg
    ]
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        var = getattr(n, "variable", None) if hasattr(n, "leaf_hooks") else None
        if var is not None:
            found.add(id(var))
        stack.extend(c for c in n._next if c is not None)
    return found


class DistributedDataParallel(Module):
    """Data parallelism across processes (torch.nn.parallel.DistributedDataParallel's API)."""

    def __init__(
        self,
        module: Module,
        device_ids=None,
        output_device=None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group=None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
        delay_all_reduce_named_params=None,
        param_to_hook_all_reduce=None,
        mixed_precision=None,
        device_mesh=None,
    ):
        super().__init__()
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        self.module = module
        pg = _resolve(process_group)
        self.__dict__["process_group"] = pg
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * (1 << 20))
        self._world = pg.size()
        seen = set()
        params = []
        for p in module.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                params.append(p)
        self._params = params
        self._check_replicas(params)
        self._sync_states([*params, *module.buffers()])
        self._buckets = self._build_buckets(params)
        self._slot = {}  # id(param) -> (bucket index, slot index)
        for bi, b in enumerate(self._buckets):
            for si, p in enumerate(b.params):
                self._slot[id(p)] = (bi, si)
        self._active = False  # this backward reduces gradients
        self._arrived = 0
        self._expected = len(params)
        self._next_launch = 0
        self._handles = []
        ref = weakref.ref(self)
        for p in params:
            self._handles.append(p.register_hook(_make_hook(ref, self._slot[id(p)])))

    # --- construction -----------------------------------------------------------------------
    def _build_buckets(self, params: list) -> list:
        buckets = []
        cur: list = []
        cur_bytes = 0
        cap = min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap)
        for p in reversed(params):
            nb = int(p._data.nbytes)
            if cur and (
                cur_bytes + nb > cap
                or p._data.dtype != cur[0]._data.dtype
                or type(p._data) is not type(cur[0]._data)
            ):
                buckets.append(_Bucket(cur, xp_of(cur[0]._data)))
                cur, cur_bytes, cap = [], 0, self.bucket_bytes_cap
            cur.append(p)
            cur_bytes += nb
        if cur:
            buckets.append(_Bucket(cur, xp_of(cur[0]._data)))
        return buckets

    def _check_replicas(self, params: list) -> None:
        """Every rank must wrap the same architecture; say so instead of hanging later."""
        if self._world == 1:
            return
        mine = [(tuple(p._data.shape), str(p._data.dtype)) for p in params]
        allp = self.process_group.comm.allgather(mine)
        for rk, theirs in enumerate(allp):
            if theirs != allp[0]:
                raise RuntimeError(
                    f"DDP expects the same model on every rank, but rank 0 has {len(allp[0])} "
                    f"parameters {allp[0][:4]}... while rank {rk} has {len(theirs)} parameters "
                    f"{theirs[:4]}..."
                )

    def _sync_states(self, tensors: list) -> None:
        """Broadcast parameters/buffers from rank 0 (one message per dtype for CPU tensors)."""
        if self._world == 1 or not tensors:
            return
        groups: dict = {}
        for t in tensors:
            if is_cpu(t._data) and t._data.dtype.kind in "fiuc":
                groups.setdefault(t._data.dtype, []).append(t)
            else:
                broadcast(t, src=self.process_group.ranks[0], group=self.process_group)
        for ts in groups.values():
            flat = (
                np.concatenate([t._data.reshape(-1) for t in ts])
                if len(ts) > 1
                else np.ascontiguousarray(ts[0]._data).reshape(-1).copy()
            )
            self.process_group.comm.Bcast(flat, root=0)
            off = 0
            for t in ts:
                n = int(t._data.size)
                np.copyto(t._data, flat[off : off + n].reshape(t._data.shape))
                off += n

    # --- forward ----------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        """Run the wrapped module; the next backward averages gradients unless in no_sync()."""
        if self._active and self._arrived:
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a "
                "new one. This error indicates that your module has parameters that were not "
                "used in producing loss. You can enable unused parameter detection by passing "
                "the keyword argument `find_unused_parameters=True` to "
                "`torch.nn.parallel.DistributedDataParallel`, and by making sure all `forward` "
                "function outputs participate in calculating loss."
            )
        if self.broadcast_buffers and self.require_forward_param_sync:
            bufs = list(self.module.buffers())
            if bufs:
                self._sync_states(bufs)
        sync = self.require_backward_grad_sync and is_grad_enabled() and self._world > 1
        self._prepare(sync)
        out = self.module(*inputs, **kwargs)
        if sync and self.find_unused_parameters:
            used = _reachable_leaves(out)
            unused = [p for p in self._params if id(p) not in used]
            self._expected = len(self._params) - len(unused)
            for p in unused:
                self._arrive(p, None)
            if self._expected == 0:  # nothing will arrive in backward: settle now
                self._finish(None, None)
        return out

    def _prepare(self, sync: bool) -> None:
        self._active = sync
        self._arrived = 0
        self._expected = len(self._params)
        self._next_launch = 0
        for b in self._buckets:
            b.pending = len(b.params)
            b.ready = False
            b.req = None
            b.host = None
            b.stream = None

    # --- backward ---------------------------------------------------------------------------
    def _arrive(self, p, g):
        """Record one parameter's gradient ``g`` (None: unused) into its bucket."""
        bi, si = self._slot[id(p)]
        b = self._buckets[bi]
        view = b.views[si]
        old = p.grad
        if g is None:
            if old is None:
                view[...] = 0
            else:
                view[...] = old._data
        elif old is None:
            view[...] = g._data
        else:
            np.add(old._data, g._data, out=view) if type(view) is CPU_ARRAY else view.__setitem__(
                Ellipsis, old._data + g._data
            )
        b.pending -= 1
        if b.pending == 0:
            b.ready = True
            while self._next_launch < len(self._buckets) and self._buckets[self._next_launch].ready:
                self._launch(self._buckets[self._next_launch])
                self._next_launch += 1
        else:
            self._poke()
        if g is not None:
            self._arrived += 1
            if self._arrived == self._expected:
                return self._finish(p, view)
        return None

    def _poke(self) -> None:
        """Let MPI progress the in-flight reductions (MPI moves data only inside its calls)."""
        for b in self._buckets[: self._next_launch]:
            if b.req is not None:
                b.req.Test()

    def _launch(self, b: _Bucket) -> None:
        MPI = _mpi()
        buf = b.buffer
        pg = self.process_group
        if is_cpu(buf):
            np.divide(buf, self._world, out=buf)
            b.req = pg.comm.Iallreduce(MPI.IN_PLACE, buf, MPI.SUM)
        elif pg.backend == "nccl":
            buf /= self._world
            nc = pg.nccl()
            s = _cp().cuda.get_current_stream()
            nc.comm.allReduce(
                buf.data.ptr, buf.data.ptr, buf.size, nc._dtype(buf), nc._nccl.NCCL_SUM, s.ptr
            )
            b.stream = s
        else:  # CUDA tensors on an MPI group: stage through host memory
            host = buf.get()
            host /= self._world
            b.host = host
            b.req = pg.comm.Iallreduce(MPI.IN_PLACE, host, MPI.SUM)

    def _finish(self, last, last_view):
        """Wait for every bucket and store the averaged gradients; returns ``last``'s."""
        pg = self.process_group
        reqs = [b.req for b in self._buckets if b.req is not None]
        _wait_requests(reqs, pg.timeout, "DistributedDataParallel gradient all_reduce")
        for b in self._buckets:
            if b.stream is not None:
                b.stream.synchronize()
            if b.host is not None:
                b.buffer.set(b.host)
            for p, v in zip(b.params, b.views):
                if p is last:
                    continue
                gr = p.grad
                if gr is None:
                    if v.any():  # locally unused but used elsewhere
                        p.grad = _wrap(v.copy())
                else:
                    gr._data[...] = v
                    gr._bump()
        self._active = False
        self._arrived = 0
        if last is None:
            return None
        last.grad = None  # the engine stores the returned averaged gradient as the new .grad
        return _wrap(last_view)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside this context backward only accumulates local gradients (no communication)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # --- torch API odds and ends ------------------------------------------------------------
    def register_comm_hook(self, state, hook) -> None:
        """Communication hooks are not supported by ember's DDP."""
        raise NotImplementedError("ember's DistributedDataParallel has no comm hooks yet")

    def join(self, *args, **kwargs):
        """Uneven inputs are not supported; a no-op context for code that enters it."""
        return contextlib.nullcontext()

    def _remove_hooks(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def _make_hook(ref, slot):
    """The gradient hook of one parameter (holds the DDP object weakly)."""

    def hook(grad):
        ddp = ref()
        if ddp is None or not ddp._active:
            return None
        bi, si = slot
        return ddp._arrive(ddp._buckets[bi].params[si], grad)

    return hook
