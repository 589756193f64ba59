"""torch.Stream and torch.Event: the device-generic stream and event classes of torch 2.x.

A stream is named by (device type, device index, stream id), as torch's is: two Stream objects
with the same three are equal and hash alike. On the CPU (and the meta device) there is one
stream, ``device_index=-1, stream_id=0``, whose work is always done, so ``query()`` is True and
``synchronize()`` returns at once, and events cannot be recorded ("cpu backend doesn't support
events."), as in torch. On CUDA both classes wrap ember.cuda's CuPy streams and events; the id
of a CUDA stream is its ``cudaStream_t`` (0 for the default stream), as ``native_handle`` is.
"""

from __future__ import annotations

import contextlib
import weakref

from . import cuda as _cuda
from .device import device as _device

__all__ = ["Event", "Stream"]

# c10::DeviceType's numbering, which ``Stream.device_type`` and the raw constructor use
_DEVICE_TYPES = (
    "cpu",
    "cuda",
    "mkldnn",
    "opengl",
    "opencl",
    "ideep",
    "hip",
    "fpga",
    "maia",
    "xla",
    "vulkan",
    "metal",
    "xpu",
    "mps",
    "meta",
    "hpu",
    "ve",
    "lazy",
    "ipu",
    "mtia",
    "privateuseone",
)
_HOST = ("cpu", "meta")  # device types whose single stream has nothing to wait for

# CUDA streams made here, by (device index, stream id): the raw constructor
# ``Stream(stream_id=, device_index=, device_type=1)`` finds the stream again through them
_cuda_streams: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _not_linked(kind: str) -> RuntimeError:
    return RuntimeError(f"PyTorch is not linked with support for {kind} devices")


def _check_type(fn: str, name: str, value: object, want: type) -> None:
    # bool is an int to Python but not to torch's argument parser
    if type(value) is bool and want is not bool or not isinstance(value, want):
        raise TypeError(
            f"{fn}(): argument '{name}' must be {want.__name__}, not {type(value).__name__}"
        )


def _resolve_device(fn: str, dev: object) -> _device:
    """The device a Stream or Event is made for: None is the current accelerator (the CPU
    without one) and an int an accelerator index, as torch reads them."""
    if dev is None:
        return _device("cuda") if _cuda.is_available() else _device("cpu")
    if isinstance(dev, int) and not isinstance(dev, bool):
        if not _cuda.is_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return _device("cuda", dev)
    if isinstance(dev, (str, _device)):
        return _device(dev)
    raise TypeError(
        f"{fn}(): argument 'device' (position 1) must be torch.device, not {type(dev).__name__}"
    )


def _positional(fn: str, args: tuple, most: int) -> None:
    if len(args) > most:
        raise TypeError(
            f"{fn}() takes from 0 to {most} positional arguments but {len(args)} were given"
        )


def _raw_ids(
    args: tuple, device: object, stream_id: object, device_index: object, device_type: object
) -> dict | None:
    """The ids of torch.Stream's second form, ``Stream(stream_id, device_index, device_type)``
    (positional or keywords), or None for the device form."""
    raw = {"stream_id": stream_id, "device_index": device_index, "device_type": device_type}
    given = [k for k, v in raw.items() if v is not None]
    if not given:
        if len(args) == 3 and device is None:
            return dict(zip(raw, args))
        if len(args) > 3:
            raise TypeError(f"Stream() takes 3 positional arguments but {len(args)} were given")
        return None
    if device is not None or args or len(given) < 3:
        # torch has no overload that mixes a device with ids, nor one with some of the ids
        bad = given[0] if len(given) < 3 else "device"
        raise TypeError(f"Stream() got an unexpected keyword argument '{bad}'")
    return raw


class Stream:
    """A queue of work on one device, as ``torch.Stream(device=None, *, priority=0)``.

    As torch: ``Stream(stream_id=, device_index=, device_type=)`` (or three positional ints)
    names an existing stream; ``device_type`` is c10's number (0 the CPU, 1 CUDA); the CPU
    stream's index is -1 whatever index the device had; ``with stream:`` makes a CUDA stream
    (and its device) current for the block and does nothing for the CPU's. A Stream cannot be
    pickled. ember.cuda's own streams are accepted wherever a Stream is.
    """

    __slots__ = ("_type", "_index", "_id", "_cuda", "_ctx", "__weakref__")

    def __init__(
        self,
        *args: object,
        device: object = None,
        priority: int = 0,
        stream_id: int | None = None,
        device_index: int | None = None,
        device_type: int | None = None,
    ) -> None:
        raw = _raw_ids(args, device, stream_id, device_index, device_type)
        if raw is None:
            _positional("Stream", args, 1)
            device = args[0] if args else device
        _check_type("Stream", "priority", priority, int)
        self._cuda = None
        self._ctx: list = []
        if raw is not None:
            for name, value in raw.items():
                _check_type("Stream", name, value, int)
            if not 0 <= raw["device_type"] < len(_DEVICE_TYPES):
                raise RuntimeError(
                    "Expected isValidDeviceType(device_type) to be true, but got false.  (Could "
                    "this error message be improved?  If so, please report an enhancement "
                    "request to PyTorch.)"
                )
            self._type = _DEVICE_TYPES[raw["device_type"]]
            self._index, self._id = raw["device_index"], raw["stream_id"]
            return
        dev = _resolve_device("Stream", device)
        self._type = dev.type
        if dev.type in _HOST:
            self._index, self._id = -1, 0
        elif dev.type == "cuda":
            self._index = _cuda.current_device() if dev.index is None else dev.index
            self._cuda = _cuda.Stream(self._index, priority=priority)
            self._id = self._cuda.cuda_stream
            _cuda_streams[(self._index, self._id)] = self._cuda
        else:
            raise _not_linked(dev.type)

    @classmethod
    def _of_cuda(cls, stream: _cuda.Stream, index: int | None = None) -> Stream:
        """ember.cuda's stream as a Stream (on the current GPU unless ``index`` says)."""
        self = cls.__new__(cls)
        self._type, self._cuda, self._ctx = "cuda", stream, []
        self._index = _cuda.current_device() if index is None else index
        self._id = stream.cuda_stream
        return self

    def _cuda_stream(self) -> _cuda.Stream:
        """The ember.cuda stream behind a CUDA Stream, found again for one built from ids."""
        if self._cuda is None:
            found = _cuda_streams.get((self._index, self._id))
            if found is None:
                default = _cuda.default_stream(self._index)
                if default.cuda_stream != self._id:
                    raise RuntimeError(
                        f"ember cannot find CUDA stream {self._id} on device {self._index}: "
                        "only the default stream and streams made by torch.Stream can be "
                        "named by their ids"
                    )
                found = default
            self._cuda = found
        return self._cuda

    def _backend(self) -> str:
        """'host' or 'cuda': what serves this stream (raises for a device ember lacks)."""
        if self._type in _HOST:
            return "host"
        if self._type == "cuda":
            return "cuda"
        raise _not_linked(self._type)

    @property
    def device_type(self) -> int:
        """The device type as c10's number (0 the CPU, 1 CUDA)."""
        return _DEVICE_TYPES.index(self._type)

    @property
    def device_index(self) -> int:
        return self._index

    @property
    def stream_id(self) -> int:
        return self._id

    @property
    def device(self) -> _device:
        return _device(self._type, self._index if self._index >= 0 else None)

    @property
    def native_handle(self) -> int:
        """The backend's handle of the stream (CUDA's ``cudaStream_t``)."""
        if self._backend() == "host":
            raise RuntimeError("Backend doesn't support getting stream native handle.")
        return self._cuda_stream().cuda_stream

    def query(self) -> bool:
        """True when all the work queued on the stream has finished."""
        if self._backend() == "host":
            return True
        return self._cuda_stream().query()

    def synchronize(self) -> None:
        """Wait for all the work queued on the stream."""
        if self._backend() == "cuda":
            self._cuda_stream().synchronize()

    def is_capturing(self) -> bool:
        """False: ember records no CUDA graphs."""
        self._backend()
        return False

    def record_event(self, event: Event | None = None) -> Event:
        """Record ``event`` (a new one when None) at this point of the stream; returns it."""
        if event is None:
            event = Event._for_type(self._type)
        elif not isinstance(event, Event):
            raise RuntimeError("expected event to be a torch.Event object")
        event.record(self)
        return event

    def wait_event(self, event: Event | None) -> None:
        """Make work queued on this stream from now on wait for ``event`` (None: no wait)."""
        if event is None:
            return
        if isinstance(event, _cuda.Event):
            self._require_cuda().wait_event(event)
            return
        if not isinstance(event, Event):
            raise RuntimeError("expected event to be a torch.Event object")
        event.wait(self)

    def wait_stream(self, stream: Stream | None) -> None:
        """Make work queued on this stream from now on wait for the work queued on ``stream``
        so far (None: the current stream of this stream's device type)."""
        other = _as_stream(stream, self._type)
        self.wait_event(other.record_event())

    def _require_cuda(self) -> _cuda.Stream:
        if self._backend() != "cuda":
            raise RuntimeError(
                f"Event device type CUDA does not match blocking stream's device type "
                f"{self._type.upper()}."
            )
        return self._cuda_stream()

    def __enter__(self) -> Stream:
        if self._type == "cuda":
            ctx = contextlib.ExitStack()
            ctx.enter_context(_cuda.device(self._index))
            ctx.enter_context(_cuda.stream(self._cuda_stream()))
            self._ctx.append(ctx)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._type == "cuda":
            self._ctx.pop().close()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stream):
            return False
        return (self._type, self._index, self._id) == (other._type, other._index, other._id)

    def __hash__(self) -> int:
        return hash((self._type, self._index, self._id))

    def __repr__(self) -> str:
        return (
            f"torch.Stream device_type={self._type}, device_index={self._index}, "
            f"stream_id={self._id}"
        )

    def __reduce_ex__(self, protocol: object) -> object:
        raise TypeError("cannot pickle 'torch.Stream' object")


def _as_stream(stream: object, kind: str) -> Stream:
    """A Stream from a Stream, an ember.cuda stream, or None (the current stream of ``kind``)."""
    if isinstance(stream, Stream):
        return stream
    if isinstance(stream, _cuda.Stream):
        return Stream._of_cuda(stream)
    if stream is None:
        if kind == "cuda":
            return Stream._of_cuda(_cuda.current_stream())
        if kind in _HOST:
            return Stream(kind)
        raise _not_linked(kind)
    raise RuntimeError("expected stream to be a torch.Stream object")


class Event:
    """A marker in a stream, as ``torch.Event(device=None, *, enable_timing=False,
    blocking=False, interprocess=False)``: record it, wait for it, time between two.

    As torch: an event takes its device index from the first stream it is recorded on (-1
    before), ``event_flag`` is 1 with ``enable_timing`` and 0 without, ``blocking`` and
    ``interprocess`` change nothing, an event never recorded is done (``query()`` True, waits
    return at once), events compare by identity and cannot be pickled, and CPU events cannot be
    recorded. ``event_id`` of a recorded CUDA event is a number unique to it, not CUDA's handle.
    """

    __slots__ = ("_type", "_index", "_flag", "_recorded", "_cuda", "_id", "__weakref__")

    def __init__(
        self,
        *args: object,
        device: object = None,
        enable_timing: bool = False,
        blocking: bool = False,
        interprocess: bool = False,
    ) -> None:
        _positional("Event", args, 1)
        if args:
            device = args[0]
        dev = _resolve_device("Event", device)
        for name, value in (
            ("enable_timing", enable_timing),
            ("blocking", blocking),
            ("interprocess", interprocess),
        ):
            _check_type("Event", name, value, bool)
        self._type, self._index, self._flag = dev.type, -1, int(enable_timing)
        self._recorded, self._cuda, self._id = False, None, 0
        if dev.type == "cuda":
            with _cuda.device(dev.index):
                self._cuda = _cuda.Event(enable_timing=enable_timing, blocking=blocking)
        elif dev.type not in _HOST:
            raise _not_linked(dev.type)

    @classmethod
    def _for_type(cls, kind: str) -> Event:
        """A new event for streams of device type ``kind`` (one ember cannot make raises)."""
        if kind not in _HOST and kind != "cuda":
            raise _not_linked(kind)
        return cls(kind)

    @property
    def device(self) -> _device:
        return _device(self._type, self._index if self._index >= 0 else None)

    @property
    def event_id(self) -> int:
        return self._id

    def _check_same_type(self, other_type: str, what: str) -> None:
        if other_type != self._type:
            raise RuntimeError(
                f"Event device type {self._type.upper()} does not match {what} device type "
                f"{other_type.upper()}."
            )

    def record(self, stream: Stream | None = None) -> None:
        """Record the event at this point of ``stream`` (None: the current stream)."""
        s = _as_stream(stream, self._type)
        self._check_same_type(s._type, "recording stream's")
        if s._backend() == "host":
            raise RuntimeError(f"{self._type} backend doesn't support events.")
        if self._index not in (-1, s._index):
            raise RuntimeError(
                f"Event device index {self._index} does not match recording stream's device "
                f"index {s._index}."
            )
        self._cuda.record(s._cuda_stream())
        self._recorded, self._index, self._id = True, s._index, id(self._cuda)

    def wait(self, stream: Stream | None = None) -> None:
        """Make work queued on ``stream`` (None: the current stream) from now on wait for the
        event; no wait for an event never recorded."""
        if not self._recorded:
            return
        s = _as_stream(stream, self._type)
        self._check_same_type(s._type, "blocking stream's")
        self._cuda.wait(s._cuda_stream())

    def query(self) -> bool:
        """True when the work before the event has finished (or it was never recorded)."""
        return not self._recorded or self._cuda.query()

    def synchronize(self) -> None:
        """Wait on the host until the work before the event has finished."""
        if self._recorded:
            self._cuda.synchronize()

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds from this event to ``end_event``; both need ``enable_timing=True`` and
        must have been recorded."""
        if not isinstance(end_event, Event):
            raise RuntimeError("expected other to be a torch.Event object")
        self._check_same_type(end_event._type, "other's")
        if not (self._flag and end_event._flag):
            raise ValueError("Both events must be created with argument 'enable_timing=True'.")
        if not (self._recorded and end_event._recorded):
            raise ValueError("Both events must be recorded before calculating elapsed time.")
        return self._cuda.elapsed_time(end_event._cuda)

    def ipc_handle(self) -> bytes:
        raise NotImplementedError(
            "torch.Event ipc is not supported yet, please open an issue if you need this!"
        )

    @staticmethod
    def from_ipc_handle(device: object, ipc_handle: bytes) -> Event:
        raise NotImplementedError(
            "torch.Event ipc is not supported yet, please open an issue if you need this!"
        )

    def __repr__(self) -> str:
        return (
            f"torch.Event device_type={self._type}, device_index={self._index}, "
            f"event_flag={self._flag}, event_id={self._id}"
        )

    def __reduce_ex__(self, protocol: object) -> object:
        raise TypeError("cannot pickle 'torch.Event' object")
