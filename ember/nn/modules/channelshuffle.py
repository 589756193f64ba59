"""nn.ChannelShuffle: interleave the channels of groups (ShuffleNet)."""

from __future__ import annotations

from ...tensor import Tensor
from ..functional import channel_shuffle
from .module import Module


class ChannelShuffle(Module):
    """(N, g * k, *) -> the channels of the g groups interleaved, as torch.nn.ChannelShuffle."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
