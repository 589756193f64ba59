"""Calls APIs ember does not have; the failure must name them and keep hasattr probing quiet."""

import sys

import torch
import torch.testing

assert not hasattr(torch, "definitely_not_a_torch_api")
assert not hasattr(torch.testing, "FileCheck")
try:
    torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.quint8)
except NotImplementedError as exc:
    print("QUANTIZE", exc)
which = sys.argv[1] if len(sys.argv) > 1 else "filecheck"
if which == "filecheck":
    torch.testing.FileCheck().check("x").run("x")
