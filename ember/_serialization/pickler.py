"""A protocol-2 pickle writer that names ember objects as torch does, so that ``torch.load``
(weights_only=True) reads what ``ember.save`` writes. Tensors become persistent storage
references; one storage per distinct base array, views keep their offset and strides."""

from __future__ import annotations

import copyreg
import struct
import types
from collections import OrderedDict

import numpy as np

from .. import dtypes as D
from ..device import device as Device
from ..tensor import Size, Tensor
from . import storage as S
from .names import torch_name_of

_BATCH = 1000


class _StorageTable:
    """Assigns keys "0", "1", ... to storages, one per distinct (base array, dtype)."""

    def __init__(self):
        self.records: list[np.ndarray] = []  # uint8 views of each storage, by key
        self._keys: dict[tuple, tuple[str, np.ndarray]] = {}

    def add(self, arr: np.ndarray) -> tuple[str, int, int, tuple]:
        """(key, storage numel, offset, strides in elements) for a host array."""
        item = arr.dtype.itemsize
        base = arr
        while isinstance(base.base, np.ndarray):
            base = base.base
        # share the base's memory when the view is expressible in whole elements of its dtype
        shared = (arr.size > 0 and arr.dtype.isnative and base.nbytes % item == 0
                  and (base.flags.c_contiguous or base.flags.f_contiguous)
                  and all(s >= 0 and s % item == 0 for s in arr.strides))
        if shared:
            off = arr.__array_interface__["data"][0] - base.__array_interface__["data"][0]
            end = off + sum((n - 1) * s for n, s in zip(arr.shape, arr.strides)) + item
            shared = off >= 0 and off % item == 0 and end <= base.nbytes
        if not shared:
            arr = base = arr if arr.flags.c_contiguous and arr.dtype.isnative else \
                np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C")
            off = 0
        ident = (id(base), arr.dtype)
        hit = self._keys.get(ident)
        if hit is None:
            key = str(len(self.records))
            self.records.append(base.ravel(order="K").view(np.uint8))
            self._keys[ident] = hit = (key, base)
        numel = base.nbytes // item
        if arr.size == 0:
            strides, acc = [], 1
            for s in reversed(arr.shape):
                strides.append(acc)
                acc *= max(s, 1)
            return hit[0], numel, 0, tuple(reversed(strides))
        return hit[0], numel, off // item, tuple(s // item for s in arr.strides)


class Pickler:
    """Writes one object graph as a protocol-2 pickle (torch's names, torch's tensor layout)."""

    def __init__(self):
        self.out: list[bytes] = []
        self.memo: dict[int, tuple[int, object]] = {}
        self.global_memo: dict[tuple[str, str], int] = {}
        self.storages = _StorageTable()

    def dumps(self, obj) -> bytes:
        self.out.append(b"\x80\x02")
        self.save(obj)
        self.out.append(b".")
        return b"".join(self.out)

    # --- low-level emitters -----------------------------------------------------------------
    def w(self, b: bytes) -> None:
        self.out.append(b)

    def put(self, obj) -> None:
        i = len(self.memo) + len(self.global_memo)
        self.memo[id(obj)] = (i, obj)
        self.w(b"q" + bytes([i]) if i < 256 else b"r" + struct.pack("<I", i))

    def get(self, i: int) -> None:
        self.w(b"h" + bytes([i]) if i < 256 else b"j" + struct.pack("<I", i))

    def save_global(self, module: str, name: str) -> None:
        i = self.global_memo.get((module, name))
        if i is not None:
            return self.get(i)
        self.w(b"c" + module.encode() + b"\n" + name.encode() + b"\n")
        i = len(self.memo) + len(self.global_memo)
        self.global_memo[(module, name)] = i
        self.w(b"q" + bytes([i]) if i < 256 else b"r" + struct.pack("<I", i))

    def save_int(self, v: int) -> None:
        if 0 <= v < 256:
            self.w(b"K" + bytes([v]))
        elif 0 <= v < 65536:
            self.w(b"M" + struct.pack("<H", v))
        elif -(1 << 31) <= v < (1 << 31):
            self.w(b"J" + struct.pack("<i", v))
        else:
            n = (v.bit_length() + 8) // 8
            data = v.to_bytes(n, "little", signed=True)
            self.w((b"\x8a" + bytes([n]) if n < 256 else b"\x8b" + struct.pack("<i", n)) + data)

    def save_str(self, s: str) -> None:
        b = s.encode("utf-8", "surrogatepass")
        self.w(b"X" + struct.pack("<I", len(b)) + b)

    def save_tuple_of(self, items) -> None:
        n = len(items)
        if n == 0:
            return self.w(b")")
        if n > 3:
            self.w(b"(")
        for x in items:
            self.save(x)
        self.w(b"t" if n > 3 else b"\x85\x86\x87"[n - 1:n])

    def save_reduce_global(self, module: str, name: str, args: tuple) -> None:
        self.save_global(module, name)
        self.save_tuple_of(args)
        self.w(b"R")

    # --- the dispatcher -----------------------------------------------------------------------
    def save(self, obj) -> None:
        t = type(obj)
        if obj is None:
            return self.w(b"N")
        if t is bool:
            return self.w(b"\x88" if obj else b"\x89")
        if t is int:
            return self.save_int(obj)
        if t is float:
            return self.w(b"G" + struct.pack(">d", obj))
        if t is str:
            return self.save_str(obj)
        m = self.memo.get(id(obj))
        if m is not None:
            return self.get(m[0])
        if isinstance(obj, Tensor):
            return self.save_tensor(obj)
        if t is tuple:
            return self.save_tuple_of(obj)
        if t is list:
            self.w(b"]")
            self.put(obj)
            return self.batch(obj, b"e", lambda x: self.save(x))
        if t is dict or isinstance(obj, dict) and t.__name__ == "_Registry":
            self.w(b"}")
            self.put(obj)
            return self.batch(list(obj.items()), b"u", self.save_pair)
        if t is OrderedDict:
            self.save_reduce_global("collections", "OrderedDict", ())
            self.put(obj)
            self.batch(list(obj.items()), b"u", self.save_pair)
            if obj.__dict__:
                self.save(dict(obj.__dict__))
                self.w(b"b")
            return None
        if t is Size:
            return self.save_reduce_global("torch", "Size", (tuple(int(s) for s in obj),))
        if isinstance(obj, D.dtype):
            return self.save_global("torch", obj.name)
        if t is Device:
            args = (obj.type,) if obj.index is None else (obj.type, obj.index)
            return self.save_reduce_global("torch", "device", args)
        if isinstance(obj, np.generic):
            return self.save(obj.item())
        if t is bytes:
            return self.save_reduce_global("_codecs", "encode", (obj.decode("latin1"), "latin1"))
        if t is bytearray:
            return self.save_reduce_global("builtins", "bytearray", (bytes(obj),))
        if t is complex:
            return self.save_reduce_global("builtins", "complex", (obj.real, obj.imag))
        if t is set or t is frozenset:
            self.save_reduce_global("builtins", t.__name__, (list(obj),))
            return self.put(obj)
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            return self.save_global(*torch_name_of(obj))
        return self.save_object(obj)

    def save_pair(self, kv) -> None:
        self.save(kv[0])
        self.save(kv[1])

    def batch(self, items: list, op: bytes, emit) -> None:
        for i in range(0, len(items), _BATCH):
            chunk = items[i:i + _BATCH]
            if len(chunk) == 1:
                emit(chunk[0])
                self.w(b"a" if op == b"e" else b"s")
                continue
            self.w(b"(")
            for x in chunk:
                emit(x)
            self.w(op)

    # --- tensors --------------------------------------------------------------------------------
    def save_tensor(self, t: Tensor) -> None:
        from ..nn.parameter import Parameter

        if isinstance(t, Parameter):
            self.save_global("torch._utils", "_rebuild_parameter")
            self.w(b"(")
            self.save_plain_tensor(t, False)
            self.save(bool(t.requires_grad))
            self.save_reduce_global("collections", "OrderedDict", ())
            self.w(b"t")  # TUPLE (data, requires_grad, hooks)
            self.w(b"R")
        else:
            self.save_plain_tensor(t, bool(t.requires_grad))
        self.put(t)

    def save_plain_tensor(self, t: Tensor, requires_grad: bool) -> None:
        arr = t._host()
        dt = t.dtype
        key, numel, off, strides = self.storages.add(arr)
        v3 = dt in S.V3_DTYPES
        loc = "cpu" if t.is_cpu else f"cuda:{t.device.index or 0}"
        self.save_global("torch._utils", "_rebuild_tensor_v3" if v3 else "_rebuild_tensor_v2")
        self.w(b"(")
        self.w(b"(")  # the persistent id: ('storage', type, key, location, numel)
        self.save_str("storage")
        if v3:
            self.save_global("torch.storage", "UntypedStorage")
        else:
            self.save_global("torch", S.STORAGE_OF_DTYPE[dt])
        self.save_str(key)
        self.save_str(loc)
        self.save_int(numel * dt.itemsize if v3 else numel)
        self.w(b"tQ")
        self.save_int(off)
        self.save_tuple_of(tuple(int(s) for s in arr.shape))
        self.save_tuple_of(strides)
        self.save(requires_grad)
        self.save_reduce_global("collections", "OrderedDict", ())
        if v3:
            self.save_global("torch", dt.name)
        self.w(b"tR")

    # --- everything else: the object's own reduction ----------------------------------------------
    def save_object(self, obj) -> None:
        reducer = copyreg.dispatch_table.get(type(obj))
        rv = reducer(obj) if reducer else obj.__reduce_ex__(2)
        if isinstance(rv, str):
            mod = getattr(obj, "__module__", None) or type(obj).__module__
            return self.save_global(*torch_name_of(_Named(mod, rv)))
        func, args, state, listitems, dictitems = (tuple(rv) + (None,) * 5)[:5]
        if isinstance(state, dict) and isinstance(state.get("_modules"), dict):
            state = _module_state(state)
        if func is copyreg.__newobj__:
            cls, args = args[0], args[1:]
            self.save(cls)
            self.save_tuple_of(args)
            self.w(b"\x81")
        else:
            self.save(func)
            self.save_tuple_of(args)
            self.w(b"R")
        self.put(obj)
        if listitems is not None:
            self.batch(list(listitems), b"e", lambda x: self.save(x))
        if dictitems is not None:
            self.batch(list(dictitems), b"u", self.save_pair)
        if state is not None:
            self.save(state)
            self.w(b"b")


def _module_state(state: dict) -> dict:
    """An ember Module's state in torch's layout: plain-dict registries, and no copies of their
    entries in the instance dict (ember mirrors them there; its __setstate__ restores that)."""
    state = dict(state)
    mirrored = set()
    for reg in ("_parameters", "_buffers", "_modules"):
        r = state.get(reg)
        if isinstance(r, dict):
            mirrored.update(k for k, v in dict.items(r) if k in state and state[k] is v)
            state[reg] = dict(dict.items(r))
    return {k: v for k, v in state.items() if k not in mirrored}


class _Named:
    def __init__(self, module: str, name: str):
        self.__module__ = module
        self.__qualname__ = name
