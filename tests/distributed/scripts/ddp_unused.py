"""Run under `mpiexec -n 2`: a parameter used on rank 0 only still gets the averaged gradient."""

from __future__ import annotations

import numpy as np

import ember
import ember.distributed as dist
from ember.nn.modules.module import Module
from ember.nn.parallel import DistributedDataParallel as DDP
from ember.nn.parameter import Parameter


class Net(Module):
    def __init__(self):
        super().__init__()
        self.w = Parameter(ember.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3)))
        self.extra = Parameter(ember.zeros(2))
        self.idle = Parameter(ember.zeros(1))  # unused everywhere: its grad stays None

    def forward(self, x, use_extra: bool):
        out = x @ self.w.T
        return out + self.extra.sum() if use_extra else out


def main() -> None:
    """Two steps; rank 0 uses ``extra``, rank 1 does not."""
    dist.init_process_group("mpi")
    r, n = dist.get_rank(), dist.get_world_size()
    ddp = DDP(Net(), find_unused_parameters=True)
    xs = [np.full((4, 3), i + 1.0, np.float32) for i in range(n)]
    for _ in range(2):
        for p in ddp.parameters():
            p.grad = None
        out = ddp(ember.from_numpy(xs[r]), use_extra=(r == 0))
        out.sum().backward()
        want_w = np.mean([np.tile(x.sum(0), (2, 1)) for x in xs], axis=0)
        assert np.allclose(ddp.module.w.grad.numpy(), want_w), ddp.module.w.grad
        assert np.allclose(ddp.module.extra.grad.numpy(), np.full(2, 8.0 / n)), (
            ddp.module.extra.grad
        )
        assert ddp.module.idle.grad is None
    oks = [None] * n
    dist.all_gather_object(oks, "ok")
    if r == 0 and oks == ["ok"] * n:
        print(f"unused-parameter DDP OK on {n} ranks", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
