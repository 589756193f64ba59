"""Device objects (``torch.device``); which array module serves a device is the backend's
business (``ember._backend.xp``)."""

from __future__ import annotations

from ._backend.xp import cuda_index

# the devices entered with ``with device(...)``, innermost last: constructors without device=
# use the innermost, else the default (``ember._device_ctx``)
_default_stack: list = []


class device:
    """A place where a tensor lives, as ``torch.device``: ``device('cpu')``, ``device('cuda:0')``.

    >>> device('cuda', 1)
    device(type='cuda', index=1)
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None):  # noqa: A002
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments: {type!r}")
        if ":" in type:
            if index is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index was "
                    f"passed explicitly: {type}"
                )
            type, _, idx = type.partition(":")
            try:
                index = int(idx)
            except ValueError:
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'") from None
            if index < 0:
                raise RuntimeError(f"Device index must not be negative: '{type}:{idx}'")
        if type not in ("cpu", "cuda", "meta", "mps", "xpu"):
            raise RuntimeError(
                "Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, "
                f"fpga, maia, xla, lazy, vulkan, mps, meta, hpu, mtia, privateuseone device type "
                f"at start of device string: {type}"
            )
        self.type = type
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        _default_stack.append(to_device(self))
        return self

    def __exit__(self, *exc):
        _default_stack.pop()


CPU = device("cpu")


def to_device(d) -> device:
    """Accept a device, a string like 'cuda:0', or an int (a CUDA ordinal)."""
    if d is None:
        return CPU
    if type(d) is device:
        return d
    if d == "cpu":
        return CPU
    return device(d)


def device_of(arr) -> device:
    """The device an array lives on."""
    index = cuda_index(arr)
    return CPU if index is None else device("cuda", index)
