"""The per-collective options records of torch.distributed (``AllreduceOptions``, ...) and
``BackendConfig``.

torch passes these to a backend's C++ methods; ember's collectives take keyword arguments, so
here they are plain attribute holders with torch's fields and defaults, for code that builds them.
"""

from __future__ import annotations

import datetime

from .process_group import Backend, ReduceOp

__all__ = [
    "AllToAllOptions",
    "AllreduceCoalescedOptions",
    "AllreduceOptions",
    "BackendConfig",
    "BarrierOptions",
    "BroadcastOptions",
    "GatherOptions",
    "ReduceOptions",
    "ReduceScatterOptions",
    "ScatterOptions",
]

# torch's "no timeout set" sentinel: -1 ms
_UNSET_TIMEOUT = datetime.timedelta(milliseconds=-1)


class _Options:
    """Fields common to every options record: ``timeout`` and ``asyncOp``."""

    def __init__(self) -> None:
        self.timeout = _UNSET_TIMEOUT
        self.asyncOp = True

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class AllreduceOptions(_Options):
    """Options of an all-reduce: ``reduceOp`` (SUM), ``timeout``, ``asyncOp``."""

    def __init__(self) -> None:
        super().__init__()
        self.reduceOp = ReduceOp.SUM


class AllreduceCoalescedOptions(AllreduceOptions):
    """Options of a coalesced all-reduce (the same fields as AllreduceOptions)."""


class ReduceOptions(_Options):
    """Options of a reduce: ``reduceOp``, ``rootRank``, ``rootTensor``."""

    def __init__(self) -> None:
        super().__init__()
        self.reduceOp = ReduceOp.SUM
        self.rootRank = 0
        self.rootTensor = 0


class ReduceScatterOptions(_Options):
    """Options of a reduce-scatter: ``reduceOp``."""

    def __init__(self) -> None:
        super().__init__()
        self.reduceOp = ReduceOp.SUM


class BroadcastOptions(_Options):
    """Options of a broadcast: ``rootRank``, ``rootTensor``."""

    def __init__(self) -> None:
        super().__init__()
        self.rootRank = 0
        self.rootTensor = 0


class GatherOptions(_Options):
    """Options of a gather: ``rootRank``."""

    def __init__(self) -> None:
        super().__init__()
        self.rootRank = 0


class ScatterOptions(GatherOptions):
    """Options of a scatter: ``rootRank``."""


class AllToAllOptions(_Options):
    """Options of an all-to-all: only ``timeout`` and ``asyncOp``."""


class BarrierOptions(_Options):
    """Options of a barrier: ``device_ids``, ``device``."""

    def __init__(self) -> None:
        super().__init__()
        self.device_ids: list[int] = []
        self.device = None


class BackendConfig:
    """The device -> backend map of a backend string, as ``torch.distributed.BackendConfig``.

    ``BackendConfig(Backend("gloo"))`` maps both cpu and cuda to gloo (torch's rule for a
    single name, except nccl: cuda only); ``"cpu:gloo,cuda:nccl"`` maps each device as written.
    ``str()`` gives the ``"cpu:gloo,cuda:gloo"`` form.
    """

    def __init__(self, backend: str) -> None:
        text = str(backend).lower()
        if ":" in text:
            pairs = [p.split(":", 1) for p in text.split(",") if p]
            self._map = {d.strip(): b.strip() for d, b in pairs}
        elif text == Backend.UNDEFINED:
            self._map = {"cpu": "gloo", "cuda": "nccl"}  # torch's defaults per device
        elif text == Backend.NCCL:
            self._map = {"cuda": "nccl"}  # NCCL moves CUDA tensors only
        else:
            name = str(Backend(text))
            self._map = {"cpu": name, "cuda": name}

    def get_device_backend_map(self) -> dict[str, str]:
        """Device type -> backend name."""
        return dict(self._map)

    def __str__(self) -> str:
        return ",".join(f"{d}:{b}" for d, b in self._map.items())

    __repr__ = __str__
