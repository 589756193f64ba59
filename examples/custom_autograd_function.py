"""Write an operation with its own backward pass (torch.autograd.Function) and train through it.

`SoftClip` squashes values smoothly into (-limit, limit): limit * tanh(x / limit). Its forward
saves what the backward needs; the backward returns one gradient per forward input. The script
checks the hand-written gradient against the one autograd derives from primitive ops, then fits
a tiny model that uses it. Run with `ember run examples/custom_autograd_function.py`.
"""

import torch
from torch.autograd import Function


class SoftClip(Function):
    @staticmethod
    def forward(ctx, x, limit):
        t = torch.tanh(x / limit)
        ctx.save_for_backward(t)
        ctx.limit = limit  # a plain number: stored on ctx, gets no gradient
        return limit * t

    @staticmethod
    def backward(ctx, grad_out):
        (t,) = ctx.saved_tensors
        # d/dx [limit * tanh(x / limit)] = 1 - tanh(x / limit)^2
        return grad_out * (1 - t * t), None


def soft_clip(x, limit=2.0):
    return SoftClip.apply(x, limit)


torch.manual_seed(0)
x = torch.randn(5, dtype=torch.float64, requires_grad=True)
soft_clip(x).sum().backward()
mine = x.grad.clone()

x.grad = None
(2.0 * torch.tanh(x / 2.0)).sum().backward()
print("hand-written gradient:", [round(v, 6) for v in mine.tolist()])
print("autograd's gradient:  ", [round(v, 6) for v in x.grad.tolist()])
assert torch.allclose(mine, x.grad), "the two gradients differ"

# Learn w, b so that soft_clip(w * x + b) follows a clipped line.
inputs = torch.linspace(-3, 3, 64)
targets = 2.0 * torch.tanh((1.5 * inputs - 0.5) / 2.0)
w = torch.zeros(1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([w, b], lr=0.1)
for _ in range(300):
    loss = ((soft_clip(w * inputs + b) - targets) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"learned w={w.item():.3f} b={b.item():.3f} (true 1.5, -0.5), loss {loss.item():.2e}")
