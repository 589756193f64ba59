"""Whole programs: the image-classification homework pattern and the FashionMNIST tutorial."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import nn
from ember.utils.data import DataLoader
from ember.vision import datasets
from ember.vision import transforms as T
from tests.vision.fixtures import cases


def _jpeg_tree(root, classes=("cat", "dog"), per_class=6):
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for k in range(per_class):
            base = np.zeros((20, 24, 3), dtype=np.uint8)
            base[..., c] = 200  # a class colour the network can learn
            noise = rng.integers(0, 50, size=base.shape, dtype=np.uint8)
            Image.fromarray(base + noise).save(root / name / f"{k}.jpg", quality=90)


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int = 2) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 8, 3, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))

    def forward(self, x):
        return self.head(self.features(x))


def test_image_folder_homework_pipeline(tmp_path):
    _jpeg_tree(tmp_path / "train")
    train_tf = T.Compose(
        [
            T.Resize((16, 16)),
            T.RandomHorizontalFlip(),
            T.RandomRotation(10),
            T.ColorJitter(0.2, 0.2),
            T.ToTensor(),
            T.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
        ]
    )
    ds = datasets.ImageFolder(str(tmp_path / "train"), transform=train_tf)
    assert ds.classes == ["cat", "dog"] and len(ds) == 12
    loader = DataLoader(ds, batch_size=4, shuffle=True, num_workers=2)
    model = SmallCNN()
    opt = ember.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(3):
        for x, y in loader:
            assert (
                x.shape[1:] == (3, 16, 16) and x.dtype == ember.float32 and y.dtype == ember.int64
            )
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert np.isfinite(losses).all() and np.mean(losses[-3:]) < np.mean(losses[:3])
    ckpt = tmp_path / "model.pt"
    ember.save(
        {"model": model.state_dict(), "optimizer": opt.state_dict(), "classes": ds.classes}, ckpt
    )
    state = ember.load(ckpt)
    fresh = SmallCNN()
    fresh.load_state_dict(state["model"])
    eval_tf = T.Compose([T.Resize((16, 16)), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
    x = ember.stack([eval_tf(datasets.folder.default_loader(p)) for p, _ in ds.samples])
    model.eval()
    fresh.eval()
    np.testing.assert_array_equal(model(x).detach().numpy(), fresh(x).detach().numpy())
    assert state["classes"] == ["cat", "dog"]


def test_fashion_mnist_tutorial_pattern(tmp_path):
    cases.write_mnist(str(tmp_path), "FashionMNIST")
    one_hot = T.Lambda(
        lambda y: ember.zeros(10, dtype=ember.float).scatter_(0, ember.tensor(y), value=1)
    )
    training_data = datasets.FashionMNIST(
        root=str(tmp_path),
        train=True,
        download=True,
        transform=T.ToTensor(),
        target_transform=one_hot,
    )
    img, label = training_data[1]
    assert img.shape == (1, 28, 28) and float(img.max()) <= 1.0
    assert label.shape == (10,) and float(label.sum()) == 1.0
    assert (
        training_data.classes[int(label.argmax())]
        == training_data.classes[int(training_data.targets[1])]
    )
    loader = DataLoader(training_data, batch_size=2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    first = last = None
    for _ in range(15):
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            first = loss.item() if first is None else first
            last = loss.item()
    assert last < first
    ember.save(model.state_dict(), tmp_path / "model_weights.pth")
    model2 = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 32), nn.ReLU(), nn.Linear(32, 10))
    model2.load_state_dict(ember.load(tmp_path / "model_weights.pth", weights_only=True))
    x, _ = next(iter(loader))
    np.testing.assert_array_equal(model(x).detach().numpy(), model2(x).detach().numpy())


@pytest.mark.parametrize("workers", [0, 2])
def test_cifar_style_batches_through_dataloader(workers):
    ds = datasets.FakeData(size=6, image_size=(3, 8, 8), num_classes=3, transform=T.ToTensor())
    batches = list(DataLoader(ds, batch_size=3, num_workers=workers))
    assert [tuple(x.shape) for x, _ in batches] == [(3, 3, 8, 8)] * 2
    assert all(y.dtype == ember.int64 for _, y in batches)
