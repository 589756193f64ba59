"""SVHN (Street View House Numbers) from its MATLAB files, read with SciPy (an optional extra)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ember.vision._backend import require_pil
from ember.vision.datasets.utils import check_integrity, download_url, verify_str_arg
from ember.vision.datasets.vision import VisionDataset

__all__ = ["SVHN"]


class SVHN(VisionDataset):
    """SVHN digits, 32x32 colour; label 10 (the digit 0) becomes 0, as torchvision does.

    Reading the ``.mat`` files needs SciPy.
    """

    split_list = {
        "train": [
            "http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
            "train_32x32.mat",
            "e26dedcc434d2e4c54c9b2d4a06d8373",
        ],
        "test": [
            "http://ufldl.stanford.edu/housenumbers/test_32x32.mat",
            "test_32x32.mat",
            "eb5a983be6a315427106f1b164d9cef3",
        ],
        "extra": [
            "http://ufldl.stanford.edu/housenumbers/extra_32x32.mat",
            "extra_32x32.mat",
            "a93ce644f1a588dc4d68dda5feec44a7",
        ],
    }

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "train",
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", tuple(self.split_list.keys()))
        self.url, self.filename, self.file_md5 = self.split_list[split]
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError(
                "Dataset not found or corrupted. You can use download=True to download it"
            )
        try:
            # SciPy is optional: only SVHN's .mat files need it
            import scipy.io as sio
        except ImportError as exc:
            raise ModuleNotFoundError(
                "SVHN reads MATLAB files with SciPy, an optional dependency: pip install scipy",
                name="scipy",
            ) from exc
        loaded = sio.loadmat(os.path.join(self.root, self.filename))
        self.data = loaded["X"]
        self.labels = loaded["y"].astype(np.int64).squeeze()
        np.place(self.labels, self.labels == 10, 0)
        self.data = np.transpose(self.data, (3, 2, 0, 1))

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img, target = self.data[index], int(self.labels[index])
        img = require_pil().fromarray(np.ascontiguousarray(np.transpose(img, (1, 2, 0))))
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity(self) -> bool:
        return check_integrity(
            os.path.join(self.root, self.filename), self.split_list[self.split][2]
        )

    def download(self) -> None:
        """Fetch the split's .mat file into ``root`` (skipped when present)."""
        download_url(self.url, self.root, self.filename, self.split_list[self.split][2])

    def extra_repr(self) -> str:
        return f"Split: {self.split}"
