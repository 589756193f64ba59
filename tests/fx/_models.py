"""The models the fx tests trace, written once against a library (ember or torch) so both
frameworks trace the same source."""

from __future__ import annotations

import types

import numpy as np

import ember


def build(lib: types.ModuleType) -> dict[str, type]:
    """The test models' classes for ``lib`` (ember or torch)."""
    nn, F = lib.nn, lib.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.pool = nn.MaxPool2d(2)
            self.body = nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU())
            self.fc = nn.Linear(4 * 3 * 3, 5)

        def forward(self, x):
            x = self.pool(lib.relu(self.conv(x)))
            x = self.body(x)
            y = x.view(x.size(0), -1)
            z = lib.flatten(x, 1)
            return self.fc(y + z) * 0.5

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 3, 3, padding=1)
            self.bn = nn.BatchNorm2d(3)
            self.c2 = nn.Conv2d(3, 3, 3, padding=1)

        def forward(self, x):
            out = F.relu(self.bn(self.c1(x)))
            return F.relu(self.c2(out) + x)

    class Block(nn.Module):  # not a leaf: traced through
        def __init__(self):
            super().__init__()
            self.res = Residual()

        def forward(self, x):
            return self.res(x) - x.mean()

    class Nested(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.Sequential(Block(), Block())

        def forward(self, x):
            return self.blocks(x)

    class Cat(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)
            self.w = nn.Parameter(lib.ones(3))

        def forward(self, x):
            a, b = x.chunk(2, dim=1)
            pair = (a, b)
            y = lib.cat([pair[0], pair[1], self.lin(x)[:, 0:3]], dim=1)
            return y.sum(dim=-1) + x.shape[0] + self.w.sum(), x[:, 0]

    class Buffered(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", lib.arange(4.0) + 1)
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            return self.lin(x) * self.scale - self.scale.mean()

    return {
        "MLP": MLP,
        "CNN": CNN,
        "Residual": Residual,
        "Nested": Nested,
        "Cat": Cat,
        "Buffered": Buffered,
    }


INPUT_SHAPES = {
    "MLP": (2, 4),
    "CNN": (2, 1, 8, 8),
    "Residual": (2, 3, 5, 5),
    "Nested": (2, 3, 5, 5),
    "Cat": (3, 4),
    "Buffered": (3, 4),
}


def pair(name: str, torch: types.ModuleType):
    """(ember model, torch model, ember input, torch input) with the same weights and data."""
    tm = build(torch)[name]()
    em = build(ember)[name]()
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(INPUT_SHAPES[name]).astype(np.float32)
    return em, tm, ember.tensor(x), torch.tensor(x)
