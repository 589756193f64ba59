"""The seed's workflow end to end: a Dataset and DataLoader, MyModel (Linear -> Sigmoid ->
Linear), MSELoss, SGD with momentum, train/validate/test loops with model.train(),
model.eval() and no_grad(), and saving/loading the state dict.

Run with ember:   python examples/seed_regression.py
Run with torch:   python examples/seed_regression.py --torch   (same code, real PyTorch)
"""

from __future__ import annotations

import os
import sys
import tempfile

if "--torch" in sys.argv:
    import torch
else:
    import ember as torch

nn = torch.nn
DataLoader = torch.utils.data.DataLoader
Dataset = torch.utils.data.Dataset


class MyDataset(Dataset):
    """Samples of 10 features with a smooth nonlinear target."""

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]

    def __len__(self):
        return len(self.x)


class MyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(10, 32),
            nn.Sigmoid(),
            nn.Linear(32, 1),
        )

    def forward(self, x):
        return self.net(x)


def make_data(n: int, generator):
    x = torch.randn(n, 10, generator=generator)
    w = torch.linspace(-1.0, 1.0, 10).reshape(10, 1)
    y = torch.tanh(x @ w) + 0.1 * (x[:, :1] ** 2)
    return x, y


def main(epochs: int = 30, verbose: bool = True) -> dict:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    device = "cuda" if torch.cuda.is_available() and "--cuda" in sys.argv else "cpu"
    x_tr, y_tr = make_data(2048, g)
    x_va, y_va = make_data(512, g)
    x_te, y_te = make_data(512, g)
    train_loader = DataLoader(MyDataset(x_tr, y_tr), batch_size=32, shuffle=True)
    valid_loader = DataLoader(MyDataset(x_va, y_va), batch_size=128, shuffle=False)
    test_loader = DataLoader(MyDataset(x_te, y_te), batch_size=128, shuffle=False)

    model = MyModel().to(device)
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    best = float("inf")
    path = os.path.join(tempfile.mkdtemp(), "model.pt")
    history = []
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            x, y = x.to(device), y.to(device)
            pred = model(x)
            loss = criterion(pred, y)
            loss.backward()
            optimizer.step()

        model.eval()
        total = 0.0
        for x, y in valid_loader:
            x, y = x.to(device), y.to(device)
            with torch.no_grad():
                pred = model(x)
                total += criterion(pred, y).detach().cpu().item() * len(x)
        valid_loss = total / len(valid_loader.dataset)
        history.append(valid_loss)
        if valid_loss < best:
            best = valid_loss
            torch.save(model.state_dict(), path)
        if verbose and (epoch % 5 == 0 or epoch == epochs - 1):
            print(f"epoch {epoch:3d}  valid MSE {valid_loss:.5f}")

    model = MyModel().to(device)
    ckpt = torch.load(path)
    model.load_state_dict(ckpt)
    model.eval()
    preds = []
    with torch.no_grad():
        for x, _ in test_loader:
            preds.append(model(x.to(device)).cpu())
    preds = torch.cat(preds, dim=0)
    test_loss = criterion(preds, y_te).item()
    if verbose:
        print(f"best valid MSE {best:.5f}  test MSE {test_loss:.5f}")
    return {"best_valid": best, "test": test_loss, "history": history}


if __name__ == "__main__":
    main()
