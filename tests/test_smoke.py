"""Smoke tests: the two benchmark workloads and memory sharing, against torch."""

import numpy as np
from conftest import assert_same, to_torch

import ember


def test_add_matches_torch():
    a = ember.randn(3, 4)
    b = ember.randn(4)
    assert_same(a + b, to_torch(a) + to_torch(b))


def test_matmul_sum_backward_matches_torch():
    x = ember.randn(2, 4)
    w = ember.randn(4, 4, requires_grad=True)
    (x @ w).sum().backward()
    tw = to_torch(w)
    (to_torch(x) @ tw).sum().backward()
    assert_same(w.grad, tw.grad)


def test_numpy_shares_memory():
    t = ember.zeros(3)
    n = t.numpy()
    t.add_(1)
    assert np.all(n == 1)
