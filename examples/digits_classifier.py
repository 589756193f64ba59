"""Classify 8x8 handwritten digits with a small MLP: the whole training workflow in one file.

A PyTorch program: run it on ember with `ember run examples/digits_classifier.py`, or on PyTorch
with `python examples/digits_classifier.py`. The digits come with ember (UCI data, CC BY 4.0).
"""

import argparse
import os
from importlib import resources

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, random_split

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=15)
parser.add_argument("--out", default="digits_best.pt")
args = parser.parse_args()


class Digits(Dataset):
    def __init__(self):
        # ember ships the data; with PyTorch alone, install ember too for the file.
        with resources.files("ember").joinpath("_demo_data/digits.npz").open("rb") as f:
            data = np.load(f)
            images, labels = data["images"], data["labels"]
        self.x = torch.tensor(images.reshape(-1, 64), dtype=torch.float32) / 8.0 - 1.0
        self.y = torch.tensor(labels, dtype=torch.long)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


def evaluate(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(loader.dataset)


torch.manual_seed(0)
data = Digits()
n_eval = len(data) // 10
train_set, val_set, test_set = random_split(
    data, [len(data) - 2 * n_eval, n_eval, n_eval], generator=torch.Generator().manual_seed(0)
)
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=256)
test_loader = DataLoader(test_set, batch_size=256)

model = Net()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
best = -1.0
for epoch in range(args.epochs):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    acc = evaluate(model, val_loader)
    if acc > best:
        best = acc
        torch.save(model.state_dict(), args.out)
    print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}, validation accuracy {acc:.3f}")

model.load_state_dict(torch.load(args.out, weights_only=True))
test_acc = evaluate(model, test_loader)
print(f"test accuracy {test_acc:.3f} (best checkpoint: {os.path.abspath(args.out)})")
