"""Datasets: map-style and iterable-style bases, the stock wrappers and ``random_split``."""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from ..._backend.xp import is_cpu
from ...random import default_generator, randperm
from ...tensor import Tensor, _wrap

__all__ = [
    "Dataset",
    "IterableDataset",
    "TensorDataset",
    "StackDataset",
    "ConcatDataset",
    "ChainDataset",
    "Subset",
    "random_split",
    "GatheredBatch",
]

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses implement ``__getitem__`` (and usually ``__len__``).

    A subclass may also implement ``__getitems__(indices)`` to fetch a whole batch at once; the
    DataLoader then calls it once per batch instead of ``__getitem__`` once per sample. (No
    default ``__getitems__`` here, so the loader can tell which datasets offer one.)
    """

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co], Iterable):
    """A dataset read as a stream: subclasses implement ``__iter__``.

    With worker processes, every worker runs its own copy of the iterator; shard with
    ``get_worker_info()`` to avoid duplicates.
    """

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class GatheredBatch(Sequence):
    """A batch fetched by one gather per field: ``fields[k][i]`` is field k of sample i.

    ``TensorDataset.__getitems__`` returns one of these. It behaves as torch's convention asks
    of ``__getitems__`` — a list of samples, each a tuple — so a user ``collate_fn`` (or a
    ``StackDataset``) that indexes or iterates it sees ordinary samples. ``default_collate``
    recognises it and returns ``list(fields)`` directly: that is exactly what stacking the
    samples would give (torch collates tuples to a list of stacked fields), without splitting the
    batch into per-sample views and stacking them back.
    """

    __slots__ = ("fields",)

    def __init__(self, fields: Sequence[Tensor]) -> None:
        self.fields = tuple(fields)

    def __len__(self) -> int:
        return self.fields[0].shape[0] if self.fields else 0

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(len(self))[i]]
        return tuple(f[i] for f in self.fields)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"GatheredBatch(len={len(self)}, fields={len(self.fields)})"


class TensorDataset(Dataset):
    """Samples are rows: item i is ``tuple(t[i] for t in tensors)``; a batch is one gather."""

    def __init__(self, *tensors: Tensor) -> None:
        if any(tensors[0].size(0) != t.size(0) for t in tensors):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices: list) -> GatheredBatch | list:
        """The rows ``indices`` of every tensor, one fancy-index gather per tensor.

        A subclass that overrides ``__getitem__`` (say, to transform samples) gets its own
        ``__getitem__`` called per index instead, as it would in torch.
        """
        if type(self).__getitem__ is not TensorDataset.__getitem__:
            return [self[i] for i in indices]
        idx = np.asarray(indices, dtype=np.intp)
        fields = []
        for t in self.tensors:
            if isinstance(t, Tensor) and not t.requires_grad and is_cpu(t._data):
                try:
                    fields.append(_wrap(t._data.take(idx, axis=0)))
                except IndexError as e:  # torch's wording
                    raise IndexError(str(e).replace("axis", "dimension")) from None
            else:
                fields.append(t[list(indices)])
        return GatheredBatch(fields)

    def __len__(self) -> int:
        return self.tensors[0].size(0)


class StackDataset(Dataset):
    """Zips datasets of equal length: samples are tuples (positional) or dicts (keywords)."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args:
            if kwargs:
                raise ValueError(
                    "Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) "
                    "like input/output, but both types are given."
                )
            parts = list(args)
            self.datasets: tuple | dict = args
        elif kwargs:
            parts = list(kwargs.values())
            self.datasets = kwargs
        else:
            raise ValueError("At least one dataset should be passed")
        self._length = len(parts[0])
        if any(self._length != len(d) for d in parts):
            raise ValueError("Size mismatch between datasets")

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def _column(self, dataset, indices: list) -> list:
        if callable(getattr(dataset, "__getitems__", None)):
            items = dataset.__getitems__(indices)
            if len(items) != len(indices):
                raise ValueError(
                    "Nested dataset's output size mismatch."
                    f" Expected {len(indices)}, got {len(items)}"
                )
            return list(items)
        return [dataset[i] for i in indices]

    def __getitems__(self, indices: list) -> list:
        """A list of samples, using each member's ``__getitems__`` where it has one."""
        if isinstance(self.datasets, dict):
            cols = {k: self._column(d, indices) for k, d in self.datasets.items()}
            return [{k: c[j] for k, c in cols.items()} for j in range(len(indices))]
        cols = [self._column(d, indices) for d in self.datasets]
        return list(zip(*cols)) if cols else []

    def __len__(self) -> int:
        return self._length


class ConcatDataset(Dataset):
    """Map-style datasets one after another."""

    @staticmethod
    def cumsum(sequence) -> list[int]:
        out, s = [], 0
        for d in sequence:
            s += len(d)
            out.append(s)
        return out

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if len(self.datasets) == 0:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[k - 1] if k > 0 else 0
        return self.datasets[k][idx - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another (chained lazily)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``; ``np.array(subset)`` gives those rows."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices
        if (
            type(self).__getitem__ is not Subset.__getitem__
            and type(self).__getitems__ is Subset.__getitems__
        ):
            raise NotImplementedError(
                f"{type(self).__name__} overrides __getitem__ but not __getitems__. "
                "When subclassing Subset and overriding __getitem__, you must also override "
                "__getitems__ to ensure DataLoader works correctly with your custom logic. "
                "A simple implementation:\n\n"
                "def __getitems__(self, indices):\n"
                "    return [self.__getitem__(idx) for idx in indices]"
            )

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list) -> Sequence:
        """Batched fetch through the wrapped dataset's ``__getitems__`` when it has one."""
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """The selected rows as one array (for array-like datasets: a single gather)."""
        base = self.dataset
        if isinstance(base, (np.ndarray, Tensor)) or hasattr(base, "__array__"):
            out = np.asarray(base)[np.asarray(self.indices, dtype=np.intp)]
        else:
            out = np.array([np.asarray(self[i]) for i in range(len(self))])
        return out.astype(dtype, copy=False) if dtype is not None else out


def random_split(dataset: Any, lengths: Sequence[int | float], generator=None) -> list[Subset]:
    """Split into non-overlapping random Subsets of the given lengths (or fractions summing to 1).

    Works on any sized indexable object (a Dataset, a list, a NumPy array...).
    """
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes: list[int] = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(math.floor(n * frac))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
        for i, size in enumerate(lengths):
            if size == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = randperm(sum(lengths), generator=generator or default_generator).tolist()
    return [
        Subset(dataset, perm[end - size : end])
        for end, size in zip(itertools.accumulate(lengths), lengths)
    ]
