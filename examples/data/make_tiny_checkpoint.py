"""Writes tiny_mlp.pt with real PyTorch: the file examples/load_torch_checkpoint.py reads.

Run once with PyTorch installed (not ember): `python examples/data/make_tiny_checkpoint.py`.
The file holds a small MLP's state_dict plus an input batch and the outputs PyTorch computed for
it, so a reader can check that it reproduces PyTorch's numbers.
"""

import os
import sys

import torch

if getattr(torch, "__name__", "") != "torch" or "ember" in str(torch.__version__):
    sys.exit("run this with real PyTorch (plain python), not under `ember run`")

torch.manual_seed(1234)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
inputs = torch.randn(5, 4)
with torch.no_grad():
    outputs = model(inputs)
checkpoint = {
    "model": model.state_dict(),
    "inputs": inputs,
    "outputs": outputs,
    "note": f"written by torch {torch.__version__}",
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny_mlp.pt")
torch.save(checkpoint, path)
print(f"wrote {path} ({os.path.getsize(path)} bytes)")
