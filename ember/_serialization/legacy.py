"""Reading the legacy (pre-1.6, non-zip) torch.save format: consecutive pickles (magic number,
protocol version, sys_info, the object, the storage keys), then each storage's raw bytes."""

from __future__ import annotations

import struct
from pickle import UnpicklingError

import numpy as np

from . import storage
from .loader import _as_str
from .unpickler import run_pickle

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
# a protocol-2 pickle of MAGIC_NUMBER starts with these bytes
MAGIC_PREFIX = b"\x80\x02\x8a\x0a" + MAGIC_NUMBER.to_bytes(10, "little")


def _no_storage(pid):
    raise UnpicklingError("unexpected persistent id in a legacy checkpoint header")


def load_legacy(data: bytes, map_location, weights_only: bool, pickle_kwargs: dict):
    """Load the object of a legacy checkpoint held in ``data``."""
    magic, pos = run_pickle(data, 0, _no_storage, weights_only, **pickle_kwargs)
    if magic != MAGIC_NUMBER:
        raise RuntimeError("Invalid magic number; corrupt file?")
    proto, pos = run_pickle(data, pos, _no_storage, weights_only, **pickle_kwargs)
    if proto != PROTOCOL_VERSION:
        raise RuntimeError(f"Invalid protocol version: {str(proto)[:40]}")
    sys_info, pos = run_pickle(data, pos, _no_storage, weights_only, **pickle_kwargs)
    little = sys_info.get("little_endian", True) if isinstance(sys_info, dict) else True
    roots: dict[str, storage.Storage] = {}
    views: dict[str, storage.Storage] = {}

    def persistent_load(pid):
        if type(pid) is not tuple or not pid:
            raise UnpicklingError("malformed persistent id in a legacy checkpoint")
        kind = _as_str(pid[0])
        if kind == "module" and not weights_only and len(pid) > 1:
            return pid[1]
        if kind != "storage" or len(pid) < 6:
            raise UnpicklingError("Only persistent_load of storage is allowed")
        _, stype, key, location, numel, view = pid[:6]
        key, location = _as_str(key), _as_str(location)
        if not isinstance(stype, storage.StorageType) or stype.dtype is None:
            raise RuntimeError(f"ember cannot load legacy storages of type {stype!r}"[:200])
        if type(numel) is not int or numel < 0 or not isinstance(location, str):
            raise UnpicklingError("malformed storage id in a legacy checkpoint")
        key = str(key)
        itemsize = stype.dtype.itemsize
        st = roots.get(key)
        if st is None:
            if numel * itemsize > len(data):
                raise RuntimeError("corrupted checkpoint: a storage is larger than the file")
            st = storage.Storage(np.zeros(numel * itemsize, np.uint8), stype.dtype, key, location)
            st.pending = []
            storage.restore(st, map_location)
            roots[key] = st
        if view is None:
            return st
        vkey, off, vsize = view
        vkey = str(_as_str(vkey))
        if vkey not in views:
            if (
                type(off) is not int
                or type(vsize) is not int
                or off < 0
                or vsize < 0
                or (off + vsize) * itemsize > st.buf.size
            ):
                raise RuntimeError("corrupted checkpoint: bad storage view")
            v = storage.Storage(
                st.buf[off * itemsize : (off + vsize) * itemsize], stype.dtype, vkey, location
            )
            v.pending, v.target = st.pending, st.target
            views[vkey] = v
        return views[vkey]

    obj, pos = run_pickle(data, pos, persistent_load, weights_only, **pickle_kwargs)
    keys, pos = run_pickle(data, pos, _no_storage, weights_only, **pickle_kwargs)
    if not isinstance(keys, list):
        raise RuntimeError("corrupted checkpoint: the storage key list is missing")
    for key in keys:
        st = roots.get(str(_as_str(key)))
        if st is None:
            raise RuntimeError("corrupted checkpoint: a stored storage is not used by the pickle")
        if pos + 8 > len(data):
            raise RuntimeError("corrupted checkpoint: the file ends inside the storage data")
        n = struct.unpack_from("<q" if little else ">q", data, pos)[0]
        nbytes = n * st.dtype.itemsize
        if nbytes != st.buf.size or pos + 8 + nbytes > len(data):
            raise RuntimeError("corrupted checkpoint: storage data of the wrong size")
        st.buf[:] = np.frombuffer(data, np.uint8, nbytes, pos + 8)
        pos += 8 + nbytes
        unit = st.dtype.itemsize // (2 if st.dtype.is_complex else 1)
        if not little and unit > 1:
            st.buf.view(np.dtype(f"u{unit}")).byteswap(inplace=True)
    for st in roots.values():
        for fix in st.pending:
            fix()
        st.pending = None
    return obj
