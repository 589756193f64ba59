"""Unpicklers for checkpoints. ``WeightsUnpickler`` is a small protocol-2 interpreter that
builds only allowlisted objects (``weights_only=True``): no import, no call outside the
allowlist, bounds-checked reads. ``FullUnpickler`` is Python's unpickler with torch's names
mapped to ember's (``weights_only=False``: runs whatever the file says; trusted files only)."""

from __future__ import annotations

import _compat_pickle
import io
import pickle
import struct
import warnings
from collections import Counter, OrderedDict
from pickle import UnpicklingError

from ..nn.parameter import Parameter
from ..tensor import Tensor
from . import names

_MAX_KEY_SIZE = 1000


def map_py2(module: str, name: str) -> tuple[str, str]:
    """Python 2 names (``__builtin__ set``) to Python 3's, as protocol-2 readers do."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _key_size(key, seen: dict) -> int:
    """How many elements hashing ``key`` visits (tuples hash recursively, without caching);
    refuse keys whose hash would take long or recurse deeply."""
    if not isinstance(key, tuple):
        return 1
    todo = [(key, False)]
    while todo:
        k, ready = todo.pop()
        if id(k) in seen:
            continue
        if ready:
            n = 1 + sum(seen[id(x)][1] if isinstance(x, tuple) else 1 for x in k)
            if n > _MAX_KEY_SIZE:
                raise UnpicklingError(
                    "a dictionary key or set item is too large or too deeply nested"
                )
            seen[id(k)] = (k, n)  # keep k alive so that its id stays unique
        else:
            todo.append((k, True))
            todo.extend((x, False) for x in k if isinstance(x, tuple) and id(x) not in seen)
    return seen[id(key)][1]


def _describe(obj) -> str:
    name = getattr(obj, "__qualname__", None)
    if isinstance(name, str):
        return f"{getattr(obj, '__module__', '?')}.{name}"[:200]
    return f"an object of type {type(obj).__name__}"


class WeightsUnpickler:
    """Interpret one pickle from ``data[pos:]``, allowing only safe globals and operations."""

    def __init__(self, data, persistent_load, pos: int = 0):
        self.data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        self.pos = pos
        self.persistent_load = persistent_load
        self.safe = names.safe_globals_table()
        self.user = names.user_globals_table()
        self.allowed = {id(v) for v in self.safe.values()} | {id(v) for v in self.user.values()}
        self.allowed_types = {id(v) for v in self.user.values() if isinstance(v, type)}
        self._keys: dict = {}

    def check_key(self, key) -> None:
        if isinstance(key, tuple):
            _key_size(key, self._keys)

    def take(self, n: int) -> bytes:
        p = self.pos
        if n < 0 or p + n > len(self.data):
            raise UnpicklingError("pickle data was truncated")
        self.pos = p + n
        return bytes(self.data[p : p + n])

    def line(self) -> str:
        data = self.data
        end = p = self.pos
        stop = min(len(data), p + 1024)
        while end < stop and data[end] != 10:
            end += 1
        if end >= stop:
            raise UnpicklingError("GLOBAL name is truncated or too long")
        self.pos = end + 1
        return bytes(data[p:end]).decode("utf-8")

    def load(self):
        try:
            return self._load()
        except (UnpicklingError, RuntimeError):
            raise
        except Exception as e:  # malformed data makes allowlisted callables fail in many ways
            raise UnpicklingError(
                f"corrupted pickle ({type(e).__name__}: {str(e)[:200]})"
            ) from None

    def find(self, module: str, name: str):
        module, name = map_py2(module, name)
        full = f"{module}.{name}"
        if names.is_blocked(module):
            raise UnpicklingError(
                f"Trying to load unsupported GLOBAL {full} whose module {module} is blocked."
            )
        if full in self.safe:
            return self.safe[full]
        if full in self.user:
            return self.user[full]
        obj = names.user_allowed(module, name)
        if obj is not None:
            self.allowed.add(id(obj))
            if isinstance(obj, type):
                self.allowed_types.add(id(obj))
            return obj
        raise UnpicklingError(
            f"Unsupported global: GLOBAL {full} was not an allowed global by default. If you "
            f"trust this class or function, allowlist it with "
            f"`torch.serialization.add_safe_globals([{full}])` or the "
            f"`torch.serialization.safe_globals([{full}])` context manager."
        )

    def _load(self):  # noqa: C901 - one branch per opcode
        stack: list = []
        meta: list = []
        memo: dict = {}
        take = self.take
        while True:
            if self.pos >= len(self.data):
                raise UnpicklingError("pickle data was truncated")
            op = self.data[self.pos]
            self.pos += 1
            if op == 0x58:  # BINUNICODE
                n = struct.unpack("<I", take(4))[0]
                stack.append(take(n).decode("utf-8", "surrogatepass"))
            elif op == 0x4B:  # BININT1
                stack.append(take(1)[0])
            elif op == 0x71:  # BINPUT
                memo[take(1)[0]] = stack[-1]
            elif op == 0x72:  # LONG_BINPUT
                memo[struct.unpack("<I", take(4))[0]] = stack[-1]
            elif op == 0x68:  # BINGET
                stack.append(memo[take(1)[0]])
            elif op == 0x6A:  # LONG_BINGET
                stack.append(memo[struct.unpack("<I", take(4))[0]])
            elif op == 0x28:  # MARK
                meta.append(stack)
                stack = []
            elif op in (0x74, 0x65, 0x75):  # TUPLE, APPENDS, SETITEMS: pop to the mark
                if not meta:
                    raise UnpicklingError("no MARK for a TUPLE/APPENDS/SETITEMS")
                items, stack = stack, meta.pop()
                if op == 0x74:
                    stack.append(tuple(items))
                elif op == 0x65:
                    if type(stack[-1]) is not list:
                        raise UnpicklingError(
                            f"Can only extend lists, but got {type(stack[-1]).__name__}"
                        )
                    stack[-1].extend(items)
                else:
                    if len(items) % 2:
                        raise UnpicklingError("SETITEMS with an odd number of items")
                    self._check_dict(stack[-1])
                    for i in range(0, len(items), 2):
                        self.check_key(items[i])
                        stack[-1][items[i]] = items[i + 1]
            elif op == 0x85:  # TUPLE1
                stack[-1] = (stack[-1],)
            elif op == 0x86:  # TUPLE2
                if len(stack) < 2:
                    raise UnpicklingError("stack underflow")
                stack[-2:] = [(stack[-2], stack[-1])]
            elif op == 0x87:  # TUPLE3
                if len(stack) < 3:
                    raise UnpicklingError("stack underflow")
                stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
            elif op == 0x29:  # EMPTY_TUPLE
                stack.append(())
            elif op == 0x5D:  # EMPTY_LIST
                stack.append([])
            elif op == 0x7D:  # EMPTY_DICT
                stack.append({})
            elif op == 0x8F:  # EMPTY_SET
                stack.append(set())
            elif op == 0x4E:  # NONE
                stack.append(None)
            elif op == 0x88:
                stack.append(True)
            elif op == 0x89:
                stack.append(False)
            elif op == 0x4A:  # BININT
                stack.append(struct.unpack("<i", take(4))[0])
            elif op == 0x4D:  # BININT2
                stack.append(struct.unpack("<H", take(2))[0])
            elif op == 0x8A:  # LONG1
                n = take(1)[0]
                stack.append(int.from_bytes(take(n), "little", signed=True))
            elif op == 0x47:  # BINFLOAT
                stack.append(struct.unpack(">d", take(8))[0])
            elif op == 0x55:  # SHORT_BINSTRING
                n = take(1)[0]
                stack.append(take(n).decode("utf-8"))
            elif op == 0x63:  # GLOBAL
                module = self.line()
                stack.append(self.find(module, self.line()))
            elif op == 0x52:  # REDUCE
                args = stack.pop()
                func = stack[-1]
                if id(func) not in self.allowed or not isinstance(args, tuple):
                    raise UnpicklingError(
                        f"Trying to call reduce for unrecognized function {_describe(func)}"
                    )
                if func is Tensor:
                    raise UnpicklingError("refusing to call torch.Tensor(...) from a checkpoint")
                if func is set or func is Counter or func is OrderedDict:
                    for x in args[0] if args and isinstance(args[0], (list, tuple)) else ():
                        pair = func is OrderedDict and isinstance(x, tuple) and len(x) == 2
                        self.check_key(x[0] if pair else x)
                stack[-1] = func(*args)
            elif op == 0x81:  # NEWOBJ
                args = stack.pop()
                cls = stack.pop()
                if not isinstance(args, tuple):
                    raise UnpicklingError("NEWOBJ arguments must be a tuple")
                if cls is Parameter:
                    stack.append(Parameter(*args))
                elif (
                    id(cls) in self.allowed
                    and isinstance(cls, type)
                    and not issubclass(cls, Tensor)
                ):
                    stack.append(cls.__new__(cls, *args))
                else:
                    raise UnpicklingError(
                        f"Can only create new object for nn.Parameter or "
                        f"classes allowlisted via `add_safe_globals` but got "
                        f"{_describe(cls)}"
                    )
            elif op == 0x62:  # BUILD
                state = stack.pop()
                self._build(stack[-1], state)
            elif op == 0x61:  # APPEND
                item = stack.pop()
                if type(stack[-1]) is not list:
                    raise UnpicklingError(
                        f"Can only append to lists, but got {type(stack[-1]).__name__}"
                    )
                stack[-1].append(item)
            elif op == 0x73:  # SETITEM
                v, k = stack.pop(), stack.pop()
                self._check_dict(stack[-1])
                self.check_key(k)
                stack[-1][k] = v
            elif op == 0x51:  # BINPERSID
                pid = stack.pop()
                if type(pid) is not tuple and type(pid) is not int:
                    raise UnpicklingError(
                        f"persistent_load id must be tuple or int, but got {type(pid).__name__}"
                    )
                stack.append(self.persistent_load(pid))
            elif op == 0x80:  # PROTO
                proto = take(1)[0]
                if proto != 2:
                    warnings.warn(
                        f"Detected pickle protocol {proto} in the checkpoint; "
                        "the weights_only unpickler expects protocol 2",
                        stacklevel=4,
                    )
            elif op == 0x2E:  # STOP
                if not stack:
                    raise UnpicklingError("STOP with an empty stack")
                return stack.pop()
            else:
                raise UnpicklingError(f"Unsupported operand {op}")

    @staticmethod
    def _check_dict(obj) -> None:
        if type(obj) not in (dict, OrderedDict, Counter):
            raise UnpicklingError(
                f"Can only SETITEM for dict, collections.OrderedDict, "
                f"collections.Counter, but got {type(obj).__name__}"
            )

    def _build(self, inst, state) -> None:
        if type(inst) is OrderedDict:
            if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
                raise UnpicklingError("OrderedDict state must be a dict of attributes")
            inst.__dict__.update(state)
        elif type(inst) is Parameter or id(type(inst)) in self.allowed_types:
            setstate = getattr(type(inst), "__setstate__", None)
            if setstate is not None and type(inst) is not Parameter:
                inst.__setstate__(state)
                return
            slots = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slots = state
            for part in (state, slots):
                if part:
                    if not isinstance(part, dict):
                        raise UnpicklingError("object state must be a dict")
                    for k, v in part.items():
                        setattr(inst, k, v)
        else:
            raise UnpicklingError(
                f"Can only build Tensor, Parameter, OrderedDict or types "
                f"allowlisted via `add_safe_globals`, but got "
                f"{type(inst).__name__}"
            )


class FullUnpickler(pickle.Unpickler):
    """Python's unpickler, torch's globals resolved to ember's objects. Unsafe by design."""

    def __init__(self, file, persistent_load, **kwargs):
        super().__init__(file, **kwargs)
        self._pl = persistent_load

    def persistent_load(self, pid):
        return self._pl(pid)

    def find_class(self, module: str, name: str):
        m, n = map_py2(module, name)
        if m == "torch" or m.startswith("torch."):
            try:
                return names.resolve_torch(m, n)
            except AttributeError as e:
                raise UnpicklingError(str(e)) from None
        return super().find_class(module, name)


def run_pickle(data, pos: int, persistent_load, weights_only: bool, **kwargs):
    """Unpickle one object from ``data[pos:]``; return it and the position after its STOP."""
    if weights_only:
        u = WeightsUnpickler(data, persistent_load, pos)
        obj = u.load()
        return obj, u.pos
    f = io.BytesIO(data)
    f.seek(pos)
    kwargs.setdefault("encoding", "utf-8")
    obj = FullUnpickler(f, persistent_load, **kwargs).load()
    return obj, f.tell()
