"""Calls APIs ember does not have; the failure must name them and keep hasattr probing quiet."""

import sys

import torch
import torch.fft

assert not hasattr(torch, "definitely_not_a_torch_api")
assert not hasattr(torch.fft, "rfft")
try:
    torch.compile(lambda v: v)
except NotImplementedError as exc:
    print("COMPILE", exc)
which = sys.argv[1] if len(sys.argv) > 1 else "fft"
if which == "fft":
    torch.fft.rfft(torch.ones(4))
