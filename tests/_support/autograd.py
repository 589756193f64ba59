"""Shared pieces of the autograd tests (autograd/): leaves made from the same values in
ember and torch."""

from __future__ import annotations

import numpy as np

import ember
from tests._support.torch_ref import torch


def _leaf(shape=(3,), seed=0, dtype=np.float32, lo=None):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    if lo is not None:
        a = np.abs(a) + lo
    return (
        ember.from_numpy(a.copy()).requires_grad_(),
        torch.from_numpy(a.copy()).requires_grad_(),
    )
