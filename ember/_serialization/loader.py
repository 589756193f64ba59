"""Reading a PyTorch zip checkpoint: locate its records, restore storages, run the unpickler."""

from __future__ import annotations

from pickle import UnpicklingError

import numpy as np

from . import storage
from .unpickler import run_pickle
from .zip_reader import ZipReader

_MAX_VERSION = 10


def _as_str(v):
    return v.decode("ascii", "replace") if isinstance(v, bytes) else v


class StorageLoader:
    """``persistent_load`` for zip checkpoints: one Storage per key, read on first use."""

    def __init__(self, reader: ZipReader, prefix: str, map_location, big_endian: bool):
        self.reader = reader
        self.prefix = prefix
        self.map_location = map_location
        self.big_endian = big_endian
        self.cache: dict[str, storage.Storage] = {}

    def __call__(self, pid):
        if type(pid) is not tuple or len(pid) < 5 or _as_str(pid[0]) != "storage":
            raise UnpicklingError(
                "Only persistent_load of storage is allowed, and a storage id "
                "is ('storage', type, key, location, numel)"
            )
        _, stype, key, location, numel = pid[:5]
        key, location = _as_str(key), _as_str(location)
        if not isinstance(stype, storage.StorageType):
            raise UnpicklingError(f"persistent id names no storage type: {type(stype).__name__}")
        if stype.name in storage.QUANTIZED_STORAGES:
            raise RuntimeError(
                f"ember cannot load quantized tensors (the checkpoint holds a {stype.name})"
            )
        if (
            not isinstance(key, str)
            or not isinstance(location, str)
            or type(numel) is not int
            or numel < 0
        ):
            raise UnpicklingError("malformed storage id in the checkpoint")
        hit = self.cache.get(key)
        if hit is not None:
            if hit.dtype is stype.dtype:
                return hit
            st = storage.Storage(hit.buf, stype.dtype, key, location, self.big_endian)
            st.target = hit.target
            return st
        name = f"{self.prefix}/data/{key}"
        if name not in self.reader.by_name:
            raise RuntimeError(
                f"corrupted checkpoint: the pickle refers to storage record "
                f"'{name}', which the archive does not hold"
            )
        itemsize = stype.dtype.itemsize if stype.dtype is not None else 1
        size = self.reader.record_size(name)
        if size != numel * itemsize:
            raise RuntimeError(
                f"corrupted checkpoint: record '{name}' holds {size} bytes but "
                f"its storage needs {numel} x {itemsize} bytes"
            )
        st = storage.Storage(
            self.reader.read(name).view(np.ndarray), stype.dtype, key, location, self.big_endian
        )
        storage.restore(st, self.map_location)
        self.cache[key] = st
        return st


def checkpoint_prefix(reader: ZipReader) -> str:
    """The archive's top-level folder (from its first record), after sanity checks."""
    if not reader.entries:
        raise RuntimeError("PytorchStreamReader failed reading zip archive: the archive is empty")
    first = reader.entries[0].name
    if "/" not in first:
        raise RuntimeError(
            f"PytorchStreamReader failed locating file: file in archive is not "
            f"in a subdirectory: {first[:200]}"
        )
    prefix = first.split("/", 1)[0]
    if f"{prefix}/constants.pkl" in reader.by_name:
        raise RuntimeError(
            "this file is a TorchScript archive (written by torch.jit.save); ember cannot load "
            "TorchScript. Save the model's state_dict() with torch.save and load that instead."
        )
    return prefix


def load_zip(reader: ZipReader, map_location, weights_only: bool, pickle_kwargs: dict):
    """Load the object of a zip checkpoint."""
    prefix = checkpoint_prefix(reader)
    vname = next(
        (n for n in (f"{prefix}/.data/version", f"{prefix}/version") if n in reader.by_name), None
    )
    if vname is None:
        raise RuntimeError(
            "PytorchStreamReader failed locating file version: the archive has "
            "no version record (not a PyTorch checkpoint?)"
        )
    if reader.record_size(vname) > 64:
        raise RuntimeError("PytorchStreamReader: the version record is corrupted")
    vtext = reader.read_bytes(vname).decode("ascii", "replace").strip()
    if not vtext.isdigit() or not 1 <= int(vtext) <= _MAX_VERSION:
        raise RuntimeError(
            f"Attempted to read a PyTorch file with version {vtext[:20]!r}, but "
            f"ember reads versions 1 to {_MAX_VERSION}"
        )
    big = False
    bname = f"{prefix}/byteorder"
    if bname in reader.by_name:
        order = reader.read_bytes(bname) if reader.record_size(bname) <= 16 else b"?"
        if order not in (b"little", b"big"):
            raise RuntimeError(f"Unknown endianness type: {order[:16]!r}")
        big = order == b"big"
    pname = f"{prefix}/data.pkl"
    if pname not in reader.by_name:
        raise RuntimeError("PytorchStreamReader failed locating file data.pkl: file not found")
    data = reader.read_bytes(pname)
    loader = StorageLoader(reader, prefix, map_location, big)
    obj, _ = run_pickle(data, 0, loader, weights_only, **pickle_kwargs)
    return obj
