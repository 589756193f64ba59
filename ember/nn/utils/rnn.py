"""Variable-length sequences: PackedSequence, packing and padding (as torch.nn.utils.rnn)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ... import dtypes
from ...ops.creation import full, tensor
from ...ops.join import cat, stack
from ...tensor import Tensor
from ..functional import pad

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedFields):
    """A batch of sequences stored time-major without padding.

    ``data`` holds, for each time step, the rows of the sequences still running (longest
    first); ``batch_sizes`` (int64, CPU) counts them per step; ``sorted_indices`` maps the
    packed order to the caller's batch order and ``unsorted_indices`` back (None when the
    batch was already sorted).
    """

    def __new__(
        cls,
        data: Tensor,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            # torch's (data, batch_sizes) tuple form
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """Move or cast ``data`` (indices follow its device; batch_sizes stay on the CPU)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        dev = data.device
        s, u = self.sorted_indices, self.unsorted_indices
        return type(self)(
            data,
            self.batch_sizes,
            None if s is None else s.to(dev),
            None if u is None else u.to(dev),
        )

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self.to("cuda" if not args else args[0], **kwargs)

    def cpu(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self.to("cpu")

    def double(self) -> PackedSequence:
        return self.to(dtype=dtypes.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=dtypes.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=dtypes.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=dtypes.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=dtypes.int32)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of an index permutation (None stays None)."""
    if permutation is None:
        return None
    p = permutation.detach().cpu().numpy()
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size, dtype=p.dtype)
    return tensor(inv, device=permutation.device)


def _lengths_array(lengths: Any) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(
                "'lengths' argument should be a 1D CPU int64 tensor, but got "
                f"{lengths.dim()}D {lengths.device.type} {_type_name(lengths)} tensor"
            )
        return np.asarray(lengths.detach().cpu().numpy()).astype(np.int64)
    return np.asarray(list(lengths), dtype=np.int64).reshape(-1)


def _type_name(t: Tensor) -> str:
    return dtypes.scalar_type_name(t._data.dtype.name)


def _layout(sorted_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """batch_sizes per step and each step's first row in the packed data."""
    steps = np.arange(int(sorted_lengths[0]))
    batch_sizes = (sorted_lengths[None, :] > steps[:, None]).sum(1).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(np.int64)
    return batch_sizes, offsets


def pack_padded_sequence(
    input: Tensor, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch (T, B, *) or (B, T, *) given each sequence's length.

    As torch: with ``enforce_sorted`` the lengths must not increase; otherwise the batch is
    sorted here and the permutation kept in the result. Differentiable in ``input``.
    """
    lens = _lengths_array(lengths)
    B = input.shape[0 if batch_first else 1]
    T = input.shape[1 if batch_first else 0]
    if lens.size != B:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
            f"(batch_size={B})"
        )
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        order = np.arange(B, dtype=np.int64)
        sorted_indices = None
    else:
        order = np.argsort(-lens, kind="stable").astype(np.int64)
        sorted_indices = tensor(order, device=input.device)
    sl = lens[order]
    if sl.size and sl[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if sl[0] > T:
        raise RuntimeError(
            f"Expected all lengths to be at most the padded length {T}, but got {int(sl[0])}"
        )
    batch_sizes, _ = _layout(sl)
    # One gather: row (t, b) of the packed data is input[t, order[b]] (time-major view).
    t_idx = np.concatenate([np.full(n, t, np.int64) for t, n in enumerate(batch_sizes)])
    b_idx = np.concatenate([order[:n] for n in batch_sizes])
    flat = b_idx * T + t_idx if batch_first else t_idx * B + b_idx
    rows = input.reshape((B * T,) + tuple(input.shape[2:]))
    data = rows.index_select(0, tensor(flat, device=input.device))
    return PackedSequence(data, tensor(batch_sizes), sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Undo pack_padded_sequence: the padded batch and each sequence's length (int64, CPU)."""
    data = sequence.data
    batch_sizes = np.asarray(sequence.batch_sizes.detach().cpu().numpy(), dtype=np.int64)
    B = int(batch_sizes[0])
    T = len(batch_sizes)
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being {T}"
            )
        T_out = total_length
    else:
        T_out = T
    sorted_lengths = (batch_sizes[None, :] > np.arange(B)[:, None]).sum(1).astype(np.int64)
    _, offsets = _layout(sorted_lengths)
    u = sequence.unsorted_indices
    slot = np.arange(B) if u is None else np.asarray(u.detach().cpu().numpy(), np.int64)
    # Index into [data; one padding row]: output (t, j) reads packed row offsets[t] + slot[j].
    n = data.shape[0]
    t_grid = np.arange(T_out)[:, None]
    s_grid = slot[None, :]
    valid = t_grid < sorted_lengths[s_grid]
    idx = np.where(valid, offsets[np.minimum(t_grid, T - 1)] + s_grid, n)
    if batch_first:
        idx = idx.T
    rest = tuple(data.shape[1:])
    padrow = full((1,) + rest, padding_value, dtype=data.dtype, device=data.device)
    src = cat([data, padrow], 0)
    out = src.index_select(0, tensor(idx.reshape(-1), device=data.device))
    out = out.reshape(idx.shape + rest)
    return out, tensor(sorted_lengths[slot])


def pad_sequence(
    sequences: list[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack variable-length tensors (L_i, *) into (L_max, B, *) or (B, L_max, *)."""
    if padding_side not in ("left", "right"):
        raise ValueError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    n = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        extra = n - s.shape[0]
        widths = [0, 0] * (s.dim() - 1) + ([0, extra] if padding_side == "right" else [extra, 0])
        rows.append(pad(s, tuple(widths), value=padding_value) if extra else s)
    return stack(rows, 0 if batch_first else 1)


def unpad_sequence(
    padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False
) -> list[Tensor]:
    """Split a padded batch back into its sequences."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, : int(n)] for i, n in enumerate(lengths.tolist())]


def pack_sequence(sequences: list[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length tensors (L_i, *)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of tensors a PackedSequence was packed from."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
