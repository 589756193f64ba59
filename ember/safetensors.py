"""The safetensors format in ember (no dependency): ``save_file``/``load_file``/``save``/
``load``/``safe_open`` as in ``safetensors.torch``.

Layout: an 8-byte little-endian header length N, N bytes of JSON (``name -> {dtype, shape,
data_offsets}`` plus an optional ``__metadata__`` of strings, padded with spaces to a multiple
of 8), then the tensors' little-endian C-order bytes, which must tile the buffer exactly.
Tensors whose memory overlaps (views of one another) are refused, as the safetensors package
does; disjoint parts of one array (parameters in an optimizer's flat buffer) are fine.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

import numpy as np

from . import dtypes
from .tensor import Tensor, _wrap

__all__ = ["save", "save_file", "load", "load_file", "safe_open", "SafetensorError"]

MAX_HEADER = 100_000_000
_CODES = {
    "BOOL": dtypes.bool_,
    "U8": dtypes.uint8,
    "I8": dtypes.int8,
    "I16": dtypes.int16,
    "U16": dtypes.uint16,
    "F16": dtypes.float16,
    "BF16": dtypes.bfloat16,
    "I32": dtypes.int32,
    "U32": dtypes.uint32,
    "F32": dtypes.float32,
    "F64": dtypes.float64,
    "I64": dtypes.int64,
    "U64": dtypes.uint64,
    "C64": dtypes.complex64,
}
_CODE_OF = {d: c for c, d in _CODES.items()}
_KNOWN_UNSUPPORTED = (
    "F8_E4M3",
    "F8_E5M2",
    "F8_E4M3FNUZ",
    "F8_E5M2FNUZ",
    "F8_E8M0",
    "F4",
    "F6_E2M3",
    "F6_E3M2",
    "C128",
)


class SafetensorError(ValueError):
    """A safetensors file or header is malformed, or a tensor cannot be stored."""


# --- writing ---------------------------------------------------------------------------------


def _extent(arr: np.ndarray) -> tuple[int, int, int]:
    """(id of the array owning the memory, first byte, end byte) of a non-empty array."""
    base = arr
    while isinstance(base.base, np.ndarray):
        base = base.base
    lo, hi = (
        np.lib.array_utils.byte_bounds(arr)
        if hasattr(np.lib, "array_utils")
        else np.byte_bounds(arr)
    )
    start = base.__array_interface__["data"][0]
    return id(base), lo - start, hi - start


def _overlapping(arrays: dict) -> list[list[str]]:
    """Groups of names whose memory overlaps (views of one another)."""
    spans: dict[int, list] = {}
    for name, a in arrays.items():
        if a.size:
            owner, lo, hi = _extent(a)
            spans.setdefault(owner, []).append((lo, hi, name))
    groups = []
    for items in spans.values():
        items.sort()
        cur, end = [items[0][2]], items[0][1]
        for lo, hi, name in items[1:]:
            if lo < end:
                cur.append(name)
                end = max(end, hi)
            else:
                if len(cur) > 1:
                    groups.append(sorted(cur))
                cur, end = [name], hi
        if len(cur) > 1:
            groups.append(sorted(cur))
    return groups


def _prepare(tensors: dict, metadata: dict | None) -> tuple[bytes, list[np.ndarray]]:
    if not isinstance(tensors, dict):
        raise TypeError(f"tensors must be a dict of name -> tensor, got {type(tensors).__name__}")
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
        ):
            raise TypeError("metadata must be a dict of str -> str")
    arrays = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, got {type(name).__name__}")
        if name == "__metadata__":
            raise SafetensorError("'__metadata__' is reserved and cannot name a tensor")
        if not isinstance(t, Tensor):
            raise TypeError(f"'{name}' is a {type(t).__name__}, not a tensor")
        arr = t.detach()._host()
        if t.dtype not in _CODE_OF:
            raise SafetensorError(f"safetensors cannot store dtype {t.dtype!r} ('{name}')")
        arrays[name] = arr
    shared = _overlapping(arrays)
    if shared:
        raise RuntimeError(
            f"Some tensors share memory, this would save the shared data twice and load them "
            f"back as separate tensors: {shared}. Save clones (t.clone()) or only one of each "
            f"group."
        )
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    header: dict[str, Any] = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    out, pos = [], 0
    for name in order:
        a = arrays[name]
        if not a.dtype.isnative:
            a = a.astype(a.dtype.newbyteorder("="))
        if not a.flags.c_contiguous:
            a = a.copy(order="C")
        header[name] = {
            "dtype": _CODE_OF[dtypes._FROM_NP[a.dtype]],
            "shape": list(a.shape),
            "data_offsets": [pos, pos + a.nbytes],
        }
        pos += a.nbytes
        out.append(a)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, out


def _raw(a: np.ndarray) -> memoryview:
    return memoryview(a.reshape(-1).view(np.uint8))


def save(tensors: dict[str, Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors bytes of a dict of tensors."""
    head, arrays = _prepare(tensors, metadata)
    return head + b"".join(_raw(a) for a in arrays)


def save_file(
    tensors: dict[str, Tensor], filename: str | os.PathLike, metadata: dict[str, str] | None = None
) -> None:
    """Write a dict of tensors to a safetensors file (through a temporary file, then rename)."""
    head, arrays = _prepare(tensors, metadata)
    path = os.fspath(filename)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(head)
            for a in arrays:
                fh.write(_raw(a))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- reading ---------------------------------------------------------------------------------


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise SafetensorError(f"invalid header: duplicate key '{k[:100]}'")
        d[k] = v
    return d


def _parse_header(head8: bytes, read_header, total: int) -> tuple[dict, dict | None, int]:
    """(entries, metadata, data start) after checking the header against the file size."""
    if len(head8) < 8:
        raise SafetensorError("HeaderTooSmall: the file is shorter than 8 bytes")
    n = struct.unpack("<Q", head8)[0]
    if n > MAX_HEADER:
        raise SafetensorError(f"HeaderTooLarge: header of {n} bytes (limit {MAX_HEADER})")
    if 8 + n > total:
        raise SafetensorError(f"InvalidHeaderLength: header of {n} bytes in a file of {total}")
    raw = read_header(n)
    if not raw.startswith(b"{"):
        raise SafetensorError("InvalidHeaderStart: the header must be a JSON object")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        if isinstance(e, SafetensorError):
            raise
        raise SafetensorError(f"InvalidHeaderDeserialization: {str(e)[:200]}") from None
    if not isinstance(header, dict):
        raise SafetensorError("InvalidHeaderDeserialization: the header must be an object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
    ):
        raise SafetensorError("InvalidHeaderDeserialization: __metadata__ must map str to str")
    entries = {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) - {"dtype", "shape", "data_offsets"}:
            raise SafetensorError(f"InvalidHeaderDeserialization: bad entry for '{name[:100]}'")
        code, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if code not in _CODES:
            if code in _KNOWN_UNSUPPORTED:
                raise SafetensorError(f"ember has no dtype for safetensors {code} ('{name[:100]}')")
            raise SafetensorError(f"InvalidHeaderDeserialization: unknown dtype {str(code)[:20]}")
        if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
            raise SafetensorError(f"InvalidHeaderDeserialization: bad shape for '{name[:100]}'")
        if (
            not isinstance(offs, list)
            or len(offs) != 2
            or not all(type(o) is int and o >= 0 for o in offs)
            or offs[0] > offs[1]
        ):
            raise SafetensorError(f"InvalidOffset: bad data_offsets for '{name[:100]}'")
        dt = _CODES[code]
        numel = 1
        for s in shape:
            numel *= s
        if numel * dt.itemsize != offs[1] - offs[0]:
            raise SafetensorError(
                f"TensorInvalidInfo: '{name[:100]}' has shape {shape[:8]} "
                f"of {code} but {offs[1] - offs[0]} bytes"
            )
        entries[name] = (dt, tuple(shape), offs[0], offs[1])
    pos = 0
    for _, _, b, e in sorted(entries.values(), key=lambda x: (x[2], x[3])):
        if b != pos:
            raise SafetensorError("InvalidOffset: tensor data overlaps or leaves a gap")
        pos = e
    start = 8 + n
    if start + pos != total:
        raise SafetensorError(
            f"MetadataIncompleteBuffer: the tensors cover {pos} bytes but the "
            f"data buffer holds {total - start}"
        )
    return entries, metadata, start


def _to_device(t: Tensor, device) -> Tensor:
    return t if str(device) == "cpu" else t.to(device)


def load(data: bytes) -> dict[str, Tensor]:
    """The tensors held in safetensors bytes (copies: the result owns its memory)."""
    buf = memoryview(data).cast("B")
    entries, _, start = _parse_header(bytes(buf[:8]), lambda n: bytes(buf[8 : 8 + n]), len(buf))
    return {
        name: _wrap(
            np.frombuffer(buf, dt.np, e - b and (e - b) // dt.itemsize, start + b)
            .reshape(shape)
            .copy()
        )
        for name, (dt, shape, b, e) in sorted(entries.items())
    }


def load_file(filename: str | os.PathLike, device: Any = "cpu") -> dict[str, Tensor]:
    """Load every tensor of a safetensors file."""
    with safe_open(filename, framework="pt", device=device) as f:
        return {k: f.get_tensor(k) for k in f.keys()}


class _Slice:
    """Lazy access to part of one tensor (``get_slice``): index it to read just that part."""

    def __init__(self, owner: safe_open, name: str):
        self._owner, self._name = owner, name

    def get_shape(self) -> list[int]:
        return list(self._owner._entries[self._name][1])

    def get_dtype(self) -> str:
        return _CODE_OF[self._owner._entries[self._name][0]]

    def __getitem__(self, index) -> Any:
        arr = self._owner._array(self._name)[index]
        return self._owner._out(np.array(arr, copy=True))


class safe_open:
    """Open a safetensors file for lazy reads: ``keys()``, ``metadata()``, ``get_tensor``."""

    def __init__(self, filename: str | os.PathLike, framework: str = "pt", device: Any = "cpu"):
        if framework not in ("pt", "pytorch", "torch", "ember", "np", "numpy"):
            raise ValueError(f"framework {framework!r} is not supported by ember (use 'pt')")
        self._np = framework in ("np", "numpy")
        self._device = device
        self._path = os.fspath(filename)
        with open(self._path, "rb") as fh:
            total = os.fstat(fh.fileno()).st_size
            head8 = fh.read(8)
            self._entries, self._metadata, self._start = _parse_header(head8, fh.read, total)
        self._total = total
        self._mm = None

    def __enter__(self) -> safe_open:
        return self

    def __exit__(self, *exc) -> None:
        self._mm = None

    def keys(self) -> list[str]:
        return sorted(self._entries)

    def offset_keys(self) -> list[str]:
        return sorted(self._entries, key=lambda k: self._entries[k][2])

    def metadata(self) -> dict[str, str] | None:
        return self._metadata

    def _array(self, name: str) -> np.ndarray:
        if name not in self._entries:
            raise SafetensorError(f"File does not contain tensor {name}")
        dt, shape, b, e = self._entries[name]
        if e == b:
            return np.empty(shape, dt.np)
        if self._mm is None:
            self._mm = np.memmap(self._path, np.uint8, "r", shape=(self._total,))
        return self._mm[self._start + b : self._start + e].view(dt.np).reshape(shape)

    def _out(self, arr: np.ndarray):
        return arr if self._np else _to_device(_wrap(arr), self._device)

    def get_tensor(self, name: str):
        """One tensor, read into memory."""
        return self._out(np.array(self._array(name), copy=True))

    def get_slice(self, name: str) -> _Slice:
        if name not in self._entries:
            raise SafetensorError(f"File does not contain tensor {name}")
        return _Slice(self, name)
