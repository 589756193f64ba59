"""A plain PyTorch DDP training script; the test runs it as `mpiexec -n 2 python -m ember run`.

Uses DistributedSampler + DataLoader + DDP + SGD with momentum, then checks on rank 0 that the
result equals single-process training on the union of both ranks' batches.
"""

import os

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.distributed.elastic.multiprocessing.errors import record
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

EPOCHS = 3
BATCH = 8


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


@record
def main():
    # torchrun's variables: ember sets them from the MPI launcher's
    local_rank = int(os.environ["LOCAL_RANK"])
    dist.init_process_group(
        backend="gloo",
        init_method="env://",
        rank=int(os.environ["RANK"]),
        world_size=int(os.environ["WORLD_SIZE"]),
    )
    rank, world = dist.get_rank(), dist.get_world_size()
    assert local_rank == rank  # one machine
    g = torch.Generator().manual_seed(1)
    x_all = torch.randn(64, 8, generator=g)
    y_all = (x_all.sum(1) > 0).long()
    ds = TensorDataset(x_all, y_all)

    model = make_model()
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    sampler = DistributedSampler(ds, shuffle=True, seed=0)
    loader = DataLoader(ds, batch_size=BATCH, sampler=sampler)
    first = last = None
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(ddp(x), y)
            loss.backward()
            opt.step()
            first = loss.item() if first is None else first
            last = loss.item()

    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    assert all(torch.equal(gathered[0], t) for t in gathered), "ranks disagree"

    if rank == 0:
        ref = make_model()
        ropt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
        samplers = [
            DistributedSampler(ds, num_replicas=world, rank=k, shuffle=True, seed=0)
            for k in range(world)
        ]
        for epoch in range(EPOCHS):
            for s in samplers:
                s.set_epoch(epoch)
            loaders = [iter(DataLoader(ds, batch_size=BATCH, sampler=s)) for s in samplers]
            for batches in zip(*loaders):
                x = torch.cat([b[0] for b in batches])
                y = torch.cat([b[1] for b in batches])
                ropt.zero_grad()
                loss_fn(ref(x), y).backward()
                ropt.step()
        want = torch.cat([p.detach().reshape(-1) for p in ref.parameters()])
        diff = (want - flat).abs().max().item()
        assert diff < 1e-5, f"DDP differs from single-process training by {diff}"
        print(
            f"torch-style DDP OK: loss {first:.4f} -> {last:.4f}, max diff {diff:.2e}", flush=True
        )
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
