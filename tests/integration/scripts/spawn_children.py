"""Child processes of an `ember run` program see torch as ember: spawn, DataLoader, subprocess."""

import json
import multiprocessing as mp
import subprocess
import sys

import torch
from torch.utils.data import DataLoader, Dataset


class Numbers(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.tensor([float(i)])


def which_torch(queue):
    import torch

    queue.put(torch.__name__)


if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=which_torch, args=(q,))
    p.start()
    spawned = q.get(timeout=60)
    p.join()
    loader = DataLoader(Numbers(), batch_size=2, num_workers=1, multiprocessing_context="spawn")
    batches = [b.flatten().tolist() for b in loader]
    child = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.__name__)"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    print("RESULT " + json.dumps({"spawned": spawned, "batches": batches, "subprocess": child}))
