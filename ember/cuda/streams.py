"""torch.cuda.streams: CUDA streams and events (CuPy's), and the current stream.

torch's own Stream and Event are placeholders in its CPU build; ember's need CuPy and a GPU and
raise "Torch not compiled with CUDA enabled" without them. ``stream(None)``, ``StreamContext(None)``
and ``set_stream(None)`` do nothing anywhere, as torch's.
"""

from __future__ import annotations

from .._backend.xp import cupy
from .._torch_alias import module_getattr as _module_getattr
from ._runtime import Device, index_of, is_available, require

__all__ = ["Stream", "Event", "ExternalStream"]


class Stream:
    """A CUDA stream (CuPy's), as ``torch.cuda.Stream``."""

    def __init__(self, device: Device = None, priority: int = 0, **kw) -> None:
        with cupy().cuda.Device(index_of(device)):
            self._s = cupy().cuda.Stream(non_blocking=True)

    def synchronize(self) -> None:
        self._s.synchronize()

    def query(self) -> bool:
        return bool(self._s.done)

    def wait_event(self, event: Event) -> None:
        self._s.wait_event(event._e)

    def wait_stream(self, stream: Stream) -> None:
        self._s.wait_event(stream._s.record())

    def record_event(self, event: Event | None = None) -> Event:
        event = event or Event()
        event.record(self)
        return event

    @property
    def cuda_stream(self) -> int:
        return int(self._s.ptr)

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and other._s is self._s

    def __hash__(self) -> int:
        return id(self._s)


class ExternalStream(Stream):
    """A stream made elsewhere (another library's ``cudaStream_t``), given by its address.

    Without a GPU torch's CPU build fails inside its Stream base (a TypeError, or "PyTorch was
    compiled without CUDA support" when ``device`` is given); ember raises that RuntimeError.
    """

    def __init__(self, stream_ptr: int, device: Device = None, **kw) -> None:
        if not is_available():
            raise RuntimeError("PyTorch was compiled without CUDA support")
        with cupy().cuda.Device(index_of(device)):
            self._s = cupy().cuda.ExternalStream(int(stream_ptr))


def get_stream_from_external(data_ptr: int, device: Device = None) -> Stream:
    """A ``Stream`` for a stream made elsewhere, given by its address."""
    require()
    return ExternalStream(data_ptr, device)


class Event:
    """A CUDA event (CuPy's), as ``torch.cuda.Event``: record, synchronize, elapsed_time."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False, **kw) -> None:
        self._e = cupy().cuda.Event(block=blocking, disable_timing=not enable_timing)

    def record(self, stream: Stream | None = None) -> None:
        self._e.record(None if stream is None else stream._s)

    def synchronize(self) -> None:
        self._e.synchronize()

    def query(self) -> bool:
        return bool(self._e.done)

    def wait(self, stream: Stream | None = None) -> None:
        (stream or current_stream())._s.wait_event(self._e)

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds from this event to ``end_event``."""
        return float(cupy().cuda.get_elapsed_time(self._e, end_event._e))


_streams: list = []  # the ember Streams made current by `stream(...)` blocks


def current_stream(device: Device = None) -> Stream:
    """The stream work is queued on now."""
    cur = require().cuda.get_current_stream()
    for s in reversed(_streams):
        if s._s is cur:
            return s
    s = Stream.__new__(Stream)
    s._s = cur
    return s


def default_stream(device: Device = None) -> Stream:
    """The device's null stream."""
    s = Stream.__new__(Stream)
    s._s = require().cuda.Stream.null
    return s


def _own(s):
    """Our Stream behind ``s`` (a torch.Stream on a CUDA device wraps one of ours)."""
    return getattr(s, "_cuda", None) or s


class StreamContext:
    """Queue the block's work on ``stream`` (None: no change), as ``torch.cuda.StreamContext``."""

    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream
        self._entered: Stream | None = None

    def __enter__(self) -> None:
        if self.stream is None:
            return
        s = _own(self.stream)
        _streams.append(s)
        s._s.__enter__()
        self._entered = s

    def __exit__(self, *exc) -> None:
        s, self._entered = self._entered, None
        if s is None:
            return
        try:
            s._s.__exit__(*exc)
        finally:
            _streams.pop()


def stream(stream: Stream | None) -> StreamContext:
    """``StreamContext(stream)``: queue a block's work on ``stream``, as ``torch.cuda.stream``."""
    return StreamContext(stream)


def set_stream(stream: Stream | None) -> None:
    """Make ``stream`` current for the rest of the program (None: no change, as torch)."""
    if stream is not None:
        _own(stream)._s.use()


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
