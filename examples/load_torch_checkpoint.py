"""Load a checkpoint that real PyTorch wrote (examples/data/tiny_mlp.pt) and reproduce its outputs.

`ember run examples/load_torch_checkpoint.py` reads the file with ember alone; no PyTorch needed.
The file was made by examples/data/make_tiny_checkpoint.py with torch 2.13; pass --path to read
another checkpoint of the same model.
"""

import argparse
import os

import torch
import torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--path", default=os.path.join(here, "data", "tiny_mlp.pt"))
args = parser.parse_args()

checkpoint = torch.load(args.path, weights_only=True)  # only tensors and plain containers
print("file:", os.path.basename(args.path), "|", checkpoint["note"])
for name, tensor in checkpoint["model"].items():
    print(f"  {name:10s} {tuple(tensor.shape)} {tensor.dtype}")

model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
model.load_state_dict(checkpoint["model"])  # strict: names and shapes must match
model.eval()
with torch.no_grad():
    outputs = model(checkpoint["inputs"])
diff = (outputs - checkpoint["outputs"]).abs().max().item()
print(f"largest difference from PyTorch's own outputs: {diff:.2e}")
assert diff < 1e-5, "outputs differ from the ones PyTorch saved"
print("outputs match")
