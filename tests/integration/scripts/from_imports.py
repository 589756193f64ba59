"""The import statements real PyTorch programs start with, then a few uses of each."""

import torch
import torch.backends.cudnn as cudnn
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.autograd import Function
from torch.optim import lr_scheduler
from torch.serialization import safe_globals  # noqa: F401
from torch.utils.data import DataLoader, TensorDataset

cudnn.benchmark = True
cudnn.deterministic = True
assert torch.backends.cudnn.benchmark is True and torch.backends.cudnn.deterministic is True
assert torch.cuda.is_available() is False
assert torch.backends.mps.is_available() is False
device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
assert device == "cpu"


class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


torch.manual_seed(0)
x = torch.randn(64, 3)
y = (x.sum(dim=1, keepdim=True) > 0).float()
loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
first = last = None
for _ in range(3):
    for xb, yb in loader:
        loss = F.binary_cross_entropy_with_logits(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
        last = loss.item()
    sched.step()
t = torch.tensor([3.0], requires_grad=True)
Square.apply(t).backward()
print(
    f"RESULT grad={t.grad.item():.1f} loss_dropped={last < first}",
    f"classes={type(model).__module__}",
)
