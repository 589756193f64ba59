"""Fit sin(x) on [-pi, pi] with a cubic a + b x + c x^2 + d x^3, using autograd for the gradients.

Run with `ember run examples/fit_polynomial.py` (or plain `python` with PyTorch installed).
"""

import argparse
import math

import torch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=2000)
parser.add_argument("--lr", type=float, default=1e-6)
args = parser.parse_args()

torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 2000, dtype=torch.float64)
y = torch.sin(x)

# Four scalar weights, each a leaf that records gradients.
coef = [torch.randn((), dtype=torch.float64, requires_grad=True) for _ in range(4)]

for step in range(args.steps):
    a, b, c, d = coef
    y_pred = a + b * x + c * x**2 + d * x**3
    loss = (y_pred - y).pow(2).sum()
    if step % 500 == 499:
        print(f"step {step + 1:5d}  loss {loss.item():10.3f}")
    loss.backward()
    with torch.no_grad():  # a plain gradient-descent step, outside the graph
        for w in coef:
            w -= args.lr * w.grad
            w.grad = None

a, b, c, d = (w.item() for w in coef)
print(f"result: y = {a:.4f} + {b:.4f} x + {c:.4f} x^2 + {d:.4f} x^3")
final = ((a + b * x + c * x**2 + d * x**3 - y) ** 2).mean().item()
print(f"mean squared error {final:.5f}")
