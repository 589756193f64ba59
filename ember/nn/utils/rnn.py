"""Sequence helpers: pad_sequence and unpad_sequence."""

from __future__ import annotations

from ...ops.join import stack
from ...tensor import Tensor
from ..functional import pad

__all__ = ["pad_sequence", "unpad_sequence"]


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
