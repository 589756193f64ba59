"""Shared pieces of the elementwise-op tests (ops/test_unary.py, test_binary.py,
test_promotion.py): input domains, the unary op list, and ember/torch input pairs."""

from __future__ import annotations

import numpy as np

import ember
from tests._support.torch_ref import torch

DOMAINS = {
    "any": lambda a: a,
    "pos": lambda a: np.abs(a) + 0.1,
    "unit": lambda a: np.tanh(a) * 0.9,
    "ge1": lambda a: np.abs(a) + 1.1,
    "prob": lambda a: 1 / (1 + np.exp(-a)) * 0.9 + 0.05,
    "nonint": lambda a: np.round(a * 4) / 4 + 0.13,
}

UNARY = [
    ("neg", "any"),
    ("negative", "any"),
    ("abs", "nonint"),
    ("absolute", "nonint"),
    ("exp", "any"),
    ("exp2", "any"),
    ("expm1", "any"),
    ("log", "pos"),
    ("log2", "pos"),
    ("log10", "pos"),
    ("log1p", "pos"),
    ("sqrt", "pos"),
    ("rsqrt", "pos"),
    ("square", "any"),
    ("sin", "any"),
    ("cos", "any"),
    ("tan", "unit"),
    ("asin", "unit"),
    ("acos", "unit"),
    ("atan", "any"),
    ("sinh", "any"),
    ("cosh", "any"),
    ("tanh", "any"),
    ("asinh", "any"),
    ("acosh", "ge1"),
    ("atanh", "unit"),
    ("arcsin", "unit"),
    ("arccos", "unit"),
    ("arctan", "any"),
    ("arcsinh", "any"),
    ("arccosh", "ge1"),
    ("arctanh", "unit"),
    ("sigmoid", "any"),
    ("relu", "nonint"),
    ("erf", "any"),
    ("erfc", "any"),
    ("erfinv", "unit"),
    ("sign", "nonint"),
    ("sgn", "nonint"),
    ("floor", "nonint"),
    ("ceil", "nonint"),
    ("round", "nonint"),
    ("trunc", "nonint"),
    ("fix", "nonint"),
    ("frac", "nonint"),
    ("reciprocal", "pos"),
    ("logit", "prob"),
    ("positive", "any"),
]
NO_GRAD_UNARY = ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit"]


def _arr(shape, domain="any", seed=0, dtype=np.float32):
    a = np.random.default_rng(seed).standard_normal(shape)
    return np.asarray(DOMAINS[domain](a)).astype(dtype)


def _pair(a, rg=False):
    e = ember.from_numpy(a.copy())
    t = torch.from_numpy(a.copy())
    if rg:
        e.requires_grad_()
        t.requires_grad_()
    return e, t


def small_tensor(lib, dt: str, kind: str):
    """Four small values of dtype ``dt`` in ``lib`` (ember or torch): a 1-d tensor for kind "t",
    else its first element as a 0-d tensor; non-negative for unsigned and bool dtypes."""
    vals = [3, 1, 2, 5] if dt in ("uint8", "bool") else [-3, 1, 2, 5]
    if dt == "bool":
        vals = [True, False, True, True]
    t = lib.tensor(vals, dtype=getattr(lib, dt))
    return t if kind == "t" else t[0].clone()
