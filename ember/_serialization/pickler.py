"""A protocol-2 pickle writer that names ember objects as torch does, so that ``torch.load``
(weights_only=True) reads what ``ember.save`` writes. Tensors become persistent storage
references: views that overlap share one storage and keep their offsets and strides."""

from __future__ import annotations

import copyreg
import struct
import types
from collections import OrderedDict

import numpy as np

from .. import dtypes
from ..device import device as Device
from ..nn.parameter import Parameter, is_lazy
from ..storage import STORAGE_OF_DTYPE
from ..tensor import Size, Tensor, _wrap
from .names import torch_name_of

_BATCH = 1000


def enc_int(v: int) -> bytes:
    """The shortest protocol-2 opcode for an int."""
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if 0 <= v < 65536:
        return b"M" + struct.pack("<H", v)
    if -(1 << 31) <= v < (1 << 31):
        return b"J" + struct.pack("<i", v)
    n = (v.bit_length() + 8) // 8
    data = v.to_bytes(n, "little", signed=True)
    return (b"\x8a" + bytes([n]) if n < 256 else b"\x8b" + struct.pack("<i", n)) + data


def enc_str(s: str) -> bytes:
    b = s.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(b)) + b


def enc_int_tuple(items: tuple) -> bytes:
    body = b"".join(enc_int(int(x)) for x in items)
    n = len(items)
    if n == 0:
        return b")"
    return body + b"\x85\x86\x87"[n - 1 : n] if n <= 3 else b"(" + body + b"t"


class _StorageTable:
    """Decides the storages of the tensors of one save. Tensors whose memory overlaps within
    one base array share a storage (views stay views); disjoint parts of one array, such as
    parameters living in an optimizer's flat buffer, get storages of their own, as in torch.
    Keys "0", "1", ... follow the order in which tensors are first met."""

    def __init__(self):
        # per tensor: (owner array, dtype, first byte, end byte, strides in elements)
        self.items: list[tuple] = []
        self.records: list[np.ndarray] = []  # uint8 views of each storage, by key
        self.assigned: list[tuple[str, int, int]] = []  # per tensor: key, numel, offset

    def note(self, arr: np.ndarray) -> int:
        """Remember a tensor's array; returns its index for ``assigned``."""
        item = arr.dtype.itemsize
        base = arr
        while isinstance(base.base, np.ndarray):
            base = base.base
        ok = (
            arr.size > 0
            and arr.dtype.isnative
            and base.nbytes % item == 0
            and (base.flags.c_contiguous or base.flags.f_contiguous)
            and all(s >= 0 and s % item == 0 for s in arr.strides)
        )
        if ok:
            lo = arr.__array_interface__["data"][0] - base.__array_interface__["data"][0]
            hi = lo + sum((n - 1) * s for n, s in zip(arr.shape, arr.strides)) + item
            ok = lo >= 0 and lo % item == 0 and hi <= base.nbytes
        if not ok:  # a copy in C order; empty tensors get contiguous strides
            base = (
                arr
                if arr.flags.c_contiguous and arr.dtype.isnative
                else np.array(arr, dtype=arr.dtype.newbyteorder("="), order="C")
            )
            lo, hi = 0, base.nbytes
            strides, acc = [], 1
            for n in reversed(arr.shape):
                strides.append(acc)
                acc *= max(n, 1)
            strides = tuple(reversed(strides))
        else:
            strides = tuple(s // item for s in arr.strides)
        self.items.append((base, arr.dtype, lo, hi, strides))
        return len(self.items) - 1

    def finalize(self) -> None:
        """Group overlapping tensors of each (base, dtype) and give every group a record."""
        by_owner: dict[tuple, list[int]] = {}
        for i, (base, dt, _, _, _) in enumerate(self.items):
            by_owner.setdefault((id(base), dt), []).append(i)
        group_of: dict[int, tuple[int, int, int]] = {}  # item -> (group id, lo, hi)
        spans: list[list[int]] = []
        for members in by_owner.values():
            members.sort(key=lambda i: self.items[i][2])
            cur = -1
            for i in members:
                lo, hi = self.items[i][2], self.items[i][3]
                if cur < 0 or lo >= spans[cur][1] or spans[cur][1] == spans[cur][0]:
                    spans.append([lo, hi])
                    cur = len(spans) - 1
                else:
                    spans[cur][1] = max(spans[cur][1], hi)
                group_of[i] = cur
        keys: dict[int, str] = {}
        for i, (base, dt, lo, _, _) in enumerate(self.items):
            g = group_of[i]
            glo, ghi = spans[g]
            if g not in keys:
                keys[g] = str(len(self.records))
                self.records.append(base.ravel(order="K").view(np.uint8)[glo:ghi])
            self.assigned.append((keys[g], (ghi - glo) // dt.itemsize, (lo - glo) // dt.itemsize))


class _TensorRef:
    """A placeholder in the output for a tensor's storage id, offset, size and stride, which
    are known only once every tensor of the save has been seen."""

    __slots__ = ("index", "stype", "loc", "shape", "untyped_itemsize")

    def __init__(self, index, stype, loc, shape, untyped_itemsize):
        self.index, self.stype, self.loc = index, stype, loc
        self.shape, self.untyped_itemsize = shape, untyped_itemsize

    def render(self, table: _StorageTable) -> bytes:
        key, numel, offset = table.assigned[self.index]
        strides = table.items[self.index][4]
        n = numel * self.untyped_itemsize if self.untyped_itemsize else numel
        return (
            b"("
            + enc_str("storage")
            + b"c"
            + self.stype
            + b"\n"
            + enc_str(key)
            + enc_str(self.loc)
            + enc_int(n)
            + b"tQ"
            + enc_int(offset)
            + enc_int_tuple(self.shape)
            + enc_int_tuple(strides)
        )


class Pickler:
    """Writes one object graph as a protocol-2 pickle (torch's names, torch's tensor layout)."""

    def __init__(self):
        self.out: list = []  # bytes, and _TensorRef placeholders
        self.memo: dict[int, tuple[int, object]] = {}
        self.global_memo: dict[tuple[str, str], int] = {}
        self.storages = _StorageTable()

    def dumps(self, obj) -> bytes:
        self.out.append(b"\x80\x02")
        self.save(obj)
        self.out.append(b".")
        self.storages.finalize()
        return b"".join(c if type(c) is bytes else c.render(self.storages) for c in self.out)

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
        self.w(enc_int(v))

    def save_str(self, s: str) -> None:
        self.w(enc_str(s))

    def save_tuple_of(self, items) -> None:
        n = len(items)
        if n == 0:
            return self.w(b")")
        if n > 3:
            self.w(b"(")
        for x in items:
            self.save(x)
        self.w(b"t" if n > 3 else b"\x85\x86\x87"[n - 1 : n])

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
        if isinstance(obj, dtypes.dtype):
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
            chunk = items[i : i + _BATCH]
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
        if t._sparse:
            return self.save_sparse(t)
        if is_lazy(t):  # no storage: torch's reduction, UninitializedParameter(requires_grad)
            return self.save_object(t)
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

    def save_sparse(self, t: Tensor) -> None:
        """As torch: _rebuild_sparse_tensor(layout, (indices, values, size, coalesced)) for COO,
        (compressed_indices, plain_indices, values, size) for CSR, CSC, BSR and BSC."""
        self.save_global("torch._utils", "_rebuild_sparse_tensor")
        name = f"torch.{t.layout.name}"
        self.save_reduce_global("torch.serialization", "_get_layout", (name,))
        values = _wrap(t._data)
        if t.layout is dtypes.sparse_coo:
            self.save_tuple_of((t._indices(), values, Size(t.shape), t.is_coalesced()))
        else:
            rowwise = t.layout in (dtypes.sparse_csr, dtypes.sparse_bsr)
            compressed = t.crow_indices() if rowwise else t.ccol_indices()
            plain = t.col_indices() if rowwise else t.row_indices()
            self.save_tuple_of((compressed, plain, values, Size(t.shape)))
        self.w(b"\x86R")  # TUPLE2 (layout, data), REDUCE
        self.put(t)

    def save_plain_tensor(self, t: Tensor, requires_grad: bool) -> None:
        arr = t._host()
        dt = t.dtype
        v3 = dt not in STORAGE_OF_DTYPE  # uint16/32/64 (and any newer dtype): untyped
        stype = (
            b"torch.storage\nUntypedStorage" if v3 else b"torch\n" + STORAGE_OF_DTYPE[dt].encode()
        )
        loc = "cpu" if t.is_cpu else f"cuda:{t.device.index or 0}"
        self.save_global("torch._utils", "_rebuild_tensor_v3" if v3 else "_rebuild_tensor_v2")
        self.w(b"(")
        # ('storage', type, key, location, numel) BINPERSID, offset, size, stride
        self.out.append(
            _TensorRef(
                self.storages.note(arr), stype, loc, tuple(arr.shape), dt.itemsize if v3 else 0
            )
        )
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
