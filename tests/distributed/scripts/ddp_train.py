"""Run under `mpiexec -n N`: DDP training equals single-process training on the combined batch."""

from __future__ import annotations

import sys

import numpy as np

import ember
import ember.distributed as dist
from ember.nn.modules.module import Module
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.nn.parameter import Parameter

SIZES = [(10, 32), (32, 32), (32, 3)]


class MLP(Module):
    """A tanh MLP built from Parameters and core ops only; ``extra`` is never used."""

    def __init__(self, seed: int, extra: bool = True):
        super().__init__()
        rng = np.random.default_rng(seed)
        for i, (a, b) in enumerate(SIZES):
            w = (rng.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32)
            setattr(self, f"w{i}", Parameter(ember.from_numpy(w)))
            setattr(
                self,
                f"b{i}",
                Parameter(ember.from_numpy(rng.standard_normal(b).astype(np.float32) * 0.1)),
            )
        if extra:
            self.extra = Parameter(ember.ones(4))
        self.register_buffer("tag", ember.full((2,), float(seed)))

    def forward(self, x):
        for i in range(len(SIZES)):
            x = x @ getattr(self, f"w{i}").T + getattr(self, f"b{i}")
            if i < len(SIZES) - 1:
                x = ember.tanh(x)
        return x


def params_of(m: Module) -> dict:
    return {k: v.detach().numpy().copy() for k, v in m.named_parameters()}


def sgd(m: Module, lr: float) -> None:
    with ember.no_grad():
        for p in m.parameters():
            if p.grad is not None:
                p -= lr * p.grad
            p.grad = None


def batches(step: int, n: int, per_rank: int):
    rng = np.random.default_rng(1000 + step)
    x = rng.standard_normal((n * per_rank, 10)).astype(np.float32)
    y = rng.standard_normal((n * per_rank, 3)).astype(np.float32)
    return x, y


def loss_fn(out, y):
    return ((out - ember.from_numpy(y)) ** 2).mean()


def train(model, r: int, n: int, per_rank: int, distributed: bool, steps: int = 20) -> None:
    """Steps 0-9: one batch per step; steps 10-19: two micro-batches (first under no_sync)."""
    for step in range(steps):
        micro = 1 if step < steps // 2 else 2
        for k in range(micro):
            x, y = batches(step * 2 + k, n, per_rank)
            if distributed:
                sl = slice(r * per_rank, (r + 1) * per_rank)
                x, y = x[sl], y[sl]
            ctx = model.no_sync() if (distributed and k < micro - 1) else _null()
            with ctx:
                loss = loss_fn(model(ember.from_numpy(x)), y)
                loss.backward()
        sgd(model, 0.05)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def main() -> None:
    """Train with DDP, compare against a single-process reference on rank 0."""
    bucket_mb = float(sys.argv[1]) if len(sys.argv) > 1 else 0.002
    find_unused = len(sys.argv) > 2 and sys.argv[2] == "find_unused"
    dist.init_process_group("gloo")  # torch scripts say gloo: ember runs it over MPI
    r, n = dist.get_rank(), dist.get_world_size()
    per_rank = 8
    local = MLP(100 + r, find_unused)  # different on each rank: DDP must broadcast rank 0's
    ddp = DDP(local, bucket_cap_mb=bucket_mb, find_unused_parameters=find_unused)
    assert len(ddp._buckets) > 1 or bucket_mb > 1, "test wants several buckets"
    assert ddp.module.tag.tolist() == [100.0, 100.0], "buffers not broadcast from rank 0"
    train(ddp, r, n, per_rank, distributed=True)
    got = params_of(ddp.module)
    if find_unused:
        assert ddp.module.extra.grad is None
    everyone = [None] * n
    dist.all_gather_object(everyone, got)
    for other in everyone[1:]:
        for k in got:
            assert np.array_equal(other[k], everyone[0][k]), f"ranks differ on {k}"
    sd = ddp.state_dict()
    assert all(k.startswith("module.") for k in sd), list(sd)
    plain = MLP(5, find_unused)
    plain.load_state_dict(ddp.module.state_dict())
    assert all(np.array_equal(v, got[k]) for k, v in params_of(plain).items())
    if r == 0:
        ref = MLP(100, find_unused)
        train(ref, 0, n, per_rank, distributed=False)
        want = params_of(ref)
        diff = max(float(np.abs(got[k] - want[k]).max()) for k in want)
        init = params_of(MLP(100, find_unused))
        moved = max(float(np.abs(want[k] - init[k]).max()) for k in want)
        assert moved > 1e-2, moved
        assert diff < 2e-5, f"DDP differs from single-process training by {diff}"
        print(f"DDP OK: {len(ddp._buckets)} buckets, max |ddp - single| = {diff:.2e}", flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
