"""torchvision.datasets on ember: the folder datasets, MNIST family, CIFAR, SVHN and FakeData."""

from ember.vision.datasets.cifar import CIFAR10, CIFAR100
from ember.vision.datasets.fakedata import FakeData
from ember.vision.datasets.folder import DatasetFolder, ImageFolder
from ember.vision.datasets.mnist import EMNIST, KMNIST, MNIST, QMNIST, FashionMNIST
from ember.vision.datasets.svhn import SVHN
from ember.vision.datasets.vision import VisionDataset

__all__ = [
    "VisionDataset",
    "DatasetFolder",
    "ImageFolder",
    "MNIST",
    "FashionMNIST",
    "KMNIST",
    "EMNIST",
    "QMNIST",
    "CIFAR10",
    "CIFAR100",
    "SVHN",
    "FakeData",
]
