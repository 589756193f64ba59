"""Same program, same numbers: two training programs (the seed's regression network and an
MNIST-example CNN, each with dropout and a shuffled DataLoader) run under ember and under torch
from ``manual_seed(0)``. The initial state dicts are equal bit for bit, and so are the dropout
masks and batch orders, so the losses agree at every step to float32 rounding (the matmuls and
convolutions round differently in NumPy's BLAS and torch's kernels)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.same_stream import assert_bitwise
from tests._support.torch_ref import torch

STEPS = 50
RTOL = 2e-5  # largest relative loss difference allowed at any step


def _regression_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 10)).astype(np.float32)
    w = np.linspace(-1.0, 1.0, 10, dtype=np.float32).reshape(10, 1)
    y = (np.tanh(x @ w) + 0.1 * x[:, :1] ** 2).astype(np.float32)
    return x, y


def regression(lib):
    """The seed's MyModel (Linear -> Sigmoid -> Linear) with dropout, MSELoss, SGD momentum."""
    nn = lib.nn
    lib.manual_seed(0)
    x, y = _regression_data()
    data = lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(y))
    loader = lib.utils.data.DataLoader(data, batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Linear(10, 32), nn.Sigmoid(), nn.Dropout(0.2), nn.Linear(32, 1))
    init = {k: v.clone() for k, v in model.state_dict().items()}
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    crit = nn.MSELoss()
    losses = []
    while len(losses) < STEPS:
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = crit(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if len(losses) == STEPS:
                break
    return init, losses, lib.rand(4)


def _mnist_like_data():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 640)
    # each class a blurred bar at its own place, plus noise: learnable in a few steps
    img = rng.standard_normal((640, 1, 12, 12)).astype(np.float32) * 0.3
    for i, c in enumerate(labels):
        img[i, 0, c : c + 3, 2:10] += 1.0
    return img, labels.astype(np.int64)


def mnist_cnn(lib):
    """The MNIST example's network shape (conv, conv, max-pool, dropout, linear, dropout, linear,
    log_softmax) on 12x12 images, NLL loss, Adadelta as in the example."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, 1)
            self.conv2 = nn.Conv2d(8, 16, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(16 * 4 * 4, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = lib.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return F.log_softmax(self.fc2(x), dim=1)

    lib.manual_seed(0)
    img, labels = _mnist_like_data()
    data = lib.utils.data.TensorDataset(lib.tensor(img), lib.tensor(labels))
    loader = lib.utils.data.DataLoader(data, batch_size=32, shuffle=True)
    model = Net()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    opt = lib.optim.Adadelta(model.parameters(), lr=1.0)
    losses = []
    while len(losses) < STEPS:
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.nll_loss(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if len(losses) == STEPS:
                break
    return init, losses, lib.rand(4)


def largest_relative_difference(program) -> float:
    """Run ``program`` under both libraries; assert the initial state dicts and the generator
    state after training are equal bit for bit; return the largest relative loss difference."""
    e_init, e_losses, e_next = program(ember)
    t_init, t_losses, t_next = program(torch)
    assert_bitwise(e_init, t_init, "initial state dict")
    assert_bitwise(e_next, t_next, "the draw after training")
    e, t = np.asarray(e_losses), np.asarray(t_losses)
    assert len(e) == len(t) == STEPS
    assert t[-1] < t[0]  # it trains
    return float(np.max(np.abs(e - t) / np.abs(t)))


@pytest.fixture
def one_torch_thread():
    """torch's intra-op threads spin against the other test processes on a small machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("program", [regression, mnist_cnn], ids=["regression", "mnist_cnn"])
def test_same_seed_same_losses(program, one_torch_thread):
    worst = largest_relative_difference(program)
    print(f"{program.__name__}: largest relative loss difference over {STEPS} steps: {worst:.3g}")
    assert worst < RTOL, worst


if __name__ == "__main__":
    for prog in (regression, mnist_cnn):
        print(prog.__name__, largest_relative_difference(prog))
