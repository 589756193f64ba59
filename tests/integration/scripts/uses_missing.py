"""Calls APIs ember does not have; the failure must name them and keep hasattr probing quiet."""

import sys

import torch
import torch.onnx

assert not hasattr(torch, "definitely_not_a_torch_api")
assert not hasattr(torch.onnx, "export")
try:
    torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.quint8)
except NotImplementedError as exc:
    print("QUANTIZE", exc)
which = sys.argv[1] if len(sys.argv) > 1 else "onnx"
if which == "onnx":
    torch.onnx.export(None, (), "model.onnx")
