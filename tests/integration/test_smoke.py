"""Smoke tests against torch: the benchmark workloads, memory sharing, random graphs."""

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, to_torch, torch


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


@pytest.mark.parametrize("seed", range(24))
def test_random_graphs_engine_modes(seed):
    """Random DAGs with shared nodes: autograd.grad on leaves and intermediates,
    backward(inputs=...), several roots with weights, and hooks, all against torch."""
    import random

    rng = random.Random(seed)
    arrays = [np.random.default_rng(seed * 10 + i).standard_normal((3,)) for i in range(3)]
    ops = [
        (rng.randrange(99), rng.randrange(99), rng.choice(["add", "mul", "sub", "tanh", "max"]))
        for _ in range(rng.randrange(2, 8))
    ]
    mode = ["grad", "inputs", "roots", "hooks"][seed % 4]
    pick = rng.randrange(len(ops))
    out = []
    for L in (ember, torch):
        xs = [L.tensor(v, requires_grad=True) for v in arrays]
        nodes = list(xs)
        for i, j, op in ops:
            p, q = nodes[i % len(nodes)], nodes[j % len(nodes)]
            if op == "add":
                r = p + q
            elif op == "mul":
                r = p * q
            elif op == "sub":
                r = p - q * 0.5
            elif op == "tanh":
                r = p.tanh()
            else:
                r = L.maximum(p, q)
            nodes.append(r)
        root = nodes[-1].sum() + nodes[len(nodes) // 2].sum() * 0.5
        mid = nodes[3 + pick]
        if mode == "grad":
            got = L.autograd.grad(root, [xs[0], mid, xs[2]], allow_unused=True)
        elif mode == "inputs":
            mid.retain_grad()
            root.backward(inputs=[xs[1], mid])
            got = (xs[0].grad, xs[1].grad, mid.grad)
        elif mode == "roots":
            L.autograd.backward(
                [root, nodes[-1].sum() * 2],
                [L.tensor(1.0, dtype=L.float64), L.tensor(0.5, dtype=L.float64)],
            )
            got = tuple(x.grad for x in xs)
        else:
            mid.register_hook(lambda g: g * 2)
            root.backward()
            got = tuple(x.grad for x in xs)
        out.append(got)
    for e, t in zip(*out):
        if e is None or t is None:
            assert all(z is None or not z.detach().numpy().any() for z in (e, t))
        else:
            assert_same(e, t)
