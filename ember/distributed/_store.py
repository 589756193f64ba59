"""Key-value stores for rendezvous: ``Store``, ``HashStore``, ``FileStore``, ``TCPStore``,
``PrefixStore``, as ``torch.distributed``'s.

Values are bytes (a str is stored UTF-8 encoded); ``add`` keeps a decimal integer as text, so
``get`` after ``add`` returns ``b"5"`` as torch does. ``get`` and ``wait`` block until the keys
exist or the store's timeout passes. Every store applies its operations through ``_apply`` on a
plain dict: in memory (HashStore), in a locked file (FileStore) or in a HashStore behind a socket
server in the master process (TCPStore).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import os
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Sequence
from typing import Any

from ._errors import DistNetworkError, DistStoreError, QueueEmptyError

try:  # POSIX only: FileStore's lock; the rest of the module works everywhere
    import fcntl
except ImportError:
    fcntl = None

__all__ = ["FileStore", "HashStore", "PrefixStore", "Store", "TCPStore"]

_DEFAULT_TIMEOUT = datetime.timedelta(seconds=300)
_QUEUE = "\x00queue/"  # queues live beside the keys, under a prefix no user key has
_MUTATING = frozenset(
    {"set", "add", "compare_set", "append", "multi_set", "delete_key", "queue_push", "queue_pop"}
)


def _as_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return bytes(value)  # torch takes a list of byte values too
    raise TypeError(f"{what}(): the value must be str or bytes, not {type(value).__name__}")


def _seconds(timeout: datetime.timedelta | float) -> float:
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    return float(timeout)


def _apply(data: dict, op: str, args: tuple) -> Any:
    """Run one store operation on ``data`` (key -> bytes; queues as lists under _QUEUE)."""
    if op == "set":
        data[args[0]] = args[1]
        return None
    if op == "get":
        return data.get(args[0])
    if op == "add":
        old = data.get(args[0], b"0")
        try:
            new = int(old) + int(args[1])
        except ValueError:
            raise ValueError(
                f"add(): the value of key '{args[0]}' is not an integer: {old!r}"
            ) from None
        data[args[0]] = str(new).encode()
        return new
    if op == "compare_set":
        key, expected, desired = args
        cur = data.get(key)
        if cur is None:
            if expected:  # torch: a missing key only matches an empty expected value
                return expected
            data[key] = desired
            return desired
        if cur == expected:
            data[key] = desired
            return desired
        return cur
    if op == "append":
        data[args[0]] = data.get(args[0], b"") + args[1]
        return None
    if op == "multi_get":
        return [data[k] for k in args[0]] if all(k in data for k in args[0]) else None
    if op == "multi_set":
        data.update(zip(args[0], args[1], strict=True))
        return None
    if op == "check":
        return all(k in data for k in args[0])
    if op == "delete_key":
        return data.pop(args[0], None) is not None
    if op == "num_keys":
        return sum(1 for k in data if not k.startswith(_QUEUE))
    if op == "list_keys":
        return [k for k in data if not k.startswith(_QUEUE)]
    if op == "queue_push":
        data.setdefault(_QUEUE + args[0], []).append(args[1])
        return None
    if op == "queue_pop":
        q = data.get(_QUEUE + args[0])
        return q.pop(0) if q else None
    if op == "queue_len":
        return len(data.get(_QUEUE + args[0], ()))
    raise ValueError(f"unknown store operation {op!r}")


class Store:
    """Base class of the key-value stores, as ``torch.distributed.Store``.

    A Python subclass may override the public methods (set/get/add/...); the built-in stores
    implement ``_op`` and, where they can do better than polling, ``_ready``.
    """

    def __init__(self, timeout: datetime.timedelta = _DEFAULT_TIMEOUT) -> None:
        self._timeout = timeout

    # -- what a concrete store provides ----------------------------------------------------
    def _op(self, op: str, *args: Any) -> Any:
        raise RuntimeError("Not implemented.")

    def _ready(self, keys: list[str], deadline: float) -> bool:
        """Wait until every key exists or the monotonic deadline passes (polling by default)."""
        pause = 0.0005
        while not self._op("check", keys):
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
            pause = min(pause * 2, 0.02)  # back off: fast for short waits, cheap for long ones
        return True

    def _timeout_error(self, keys: list[str], seconds: float) -> Exception:
        return DistStoreError("Wait timeout")

    # -- the public API --------------------------------------------------------------------
    @property
    def timeout(self) -> datetime.timedelta:
        """The default timeout of ``get``, ``wait`` and blocking ``queue_pop``."""
        return self._timeout

    def set_timeout(self, timeout: datetime.timedelta) -> None:
        """Change the store's default timeout."""
        self._timeout = timeout

    def set(self, key: str, value: str | bytes) -> None:
        """Store ``value`` under ``key``, replacing any old value."""
        self._op("set", str(key), _as_bytes(value, "set"))

    def get(self, key: str) -> bytes:
        """The value of ``key`` as bytes, waiting for it up to the timeout (DistStoreError)."""
        key = str(key)
        while True:
            self.wait([key])
            value = self._op("get", key)
            if value is not None:  # else deleted between the wait and the read: wait again
                return value

    def add(self, key: str, amount: int) -> int:
        """Add ``amount`` to the integer at ``key`` (0 when missing); return the new value."""
        return int(self._op("add", str(key), int(amount)))

    def compare_set(
        self, key: str, expected_value: str | bytes, desired_value: str | bytes
    ) -> bytes:
        """Set ``key`` to ``desired_value`` if it holds ``expected_value``; return its value.

        As torch: a missing key is set only when ``expected_value`` is empty, and otherwise
        ``expected_value`` itself is returned.
        """
        exp = _as_bytes(expected_value, "compare_set")
        des = _as_bytes(desired_value, "compare_set")
        return self._op("compare_set", str(key), exp, des)

    def append(self, key: str, value: str | bytes) -> None:
        """Append ``value`` to the bytes at ``key`` (creating it)."""
        self._op("append", str(key), _as_bytes(value, "append"))

    def multi_get(self, keys: Sequence[str]) -> list[bytes]:
        """The values of several keys, waiting for all of them."""
        keys = [str(k) for k in keys]
        while True:
            self.wait(keys)
            got = self._op("multi_get", keys)
            if got is not None:
                return list(got)

    def multi_set(self, keys: Sequence[str], values: Sequence[str | bytes]) -> None:
        """Set several keys at once."""
        if len(keys) != len(values):
            raise ValueError("multi_set(): keys and values must have the same length")
        vals = [_as_bytes(v, "multi_set") for v in values]
        self._op("multi_set", [str(k) for k in keys], vals)

    def check(self, keys: Sequence[str]) -> bool:
        """True when every key exists (does not wait)."""
        return bool(self._op("check", [str(k) for k in keys]))

    def delete_key(self, key: str) -> bool:
        """Remove ``key``; True when it existed."""
        return bool(self._op("delete_key", str(key)))

    def num_keys(self) -> int:
        """Number of keys in the store (TCPStore counts its own ``init/`` key, as torch's)."""
        return int(self._op("num_keys"))

    def list_keys(self) -> list[str]:
        """The keys in the store."""
        return list(self._op("list_keys"))

    def wait(self, keys: Sequence[str], timeout: datetime.timedelta | None = None) -> None:
        """Block until every key exists; past the timeout raise (DistStoreError on most stores)."""
        keys = [str(k) for k in keys]
        seconds = _seconds(self.timeout if timeout is None else timeout)
        if not self._ready(keys, time.monotonic() + seconds):
            raise self._timeout_error(keys, seconds)

    def queue_push(self, key: str, value: str | bytes) -> None:
        """Append ``value`` to the queue named ``key``."""
        self._op("queue_push", str(key), _as_bytes(value, "queue_push"))

    def queue_pop(self, key: str, block: bool = True) -> bytes:
        """Take the oldest value of queue ``key``; waits when ``block``, else QueueEmptyError."""
        key = str(key)
        deadline = time.monotonic() + _seconds(self.timeout)
        pause = 0.0005
        while True:
            got = self._op("queue_pop", key)
            if got is not None:
                return got
            if not block:
                raise QueueEmptyError("queue is empty")
            if time.monotonic() >= deadline:
                raise DistStoreError("Wait timeout")
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def queue_len(self, key: str) -> int:
        """Number of values waiting in queue ``key``."""
        return int(self._op("queue_len", str(key)))

    def has_extended_api(self) -> bool:
        """True: append, multi_get, multi_set and list_keys work on this store."""
        return True

    def clone(self) -> Store:
        """Another handle on the same store (a new connection for TCPStore)."""
        raise RuntimeError("Not implemented.")


class HashStore(Store):
    """A thread-safe in-memory store for one process, as ``torch.distributed.HashStore``."""

    def __init__(self) -> None:
        super().__init__()
        self._data: dict = {}
        self._cond = threading.Condition()

    def _op(self, op: str, *args: Any) -> Any:
        with self._cond:
            out = _apply(self._data, op, args)
            if op in _MUTATING:
                self._cond.notify_all()
            return out

    def _ready(self, keys: list[str], deadline: float) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: all(k in self._data for k in keys),
                max(deadline - time.monotonic(), 0.0),
            )

    def clone(self) -> HashStore:
        """A handle sharing this store's contents."""
        other = HashStore.__new__(HashStore)
        Store.__init__(other, self._timeout)
        other._data, other._cond = self._data, self._cond
        return other


# -- FileStore ------------------------------------------------------------------------------


def _encode(obj: Any) -> Any:
    """JSON-ready form of store arguments and results (bytes as base64)."""
    if isinstance(obj, bytes):
        return {"b": base64.b64encode(obj).decode()}
    if isinstance(obj, (list, tuple)):
        return [_encode(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _encode(v) for k, v in obj.items()}
    return obj


def _decode(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"b"}:
            return base64.b64decode(obj["b"])
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(o) for o in obj]
    return obj


class FileStore(Store):
    """A store in a file shared by processes on one machine (or a shared file system).

    As ``torch.distributed.FileStore(file_name, world_size=-1)``. Each operation locks the file
    (``fcntl.flock``), reads it, and rewrites it when it changed something. Unlike torch's, the
    file is not deleted when the last handle closes.
    """

    def __init__(self, file_name: str, world_size: int = -1) -> None:
        super().__init__()
        self._path = os.fspath(file_name)
        self._world_size = int(world_size)
        with open(self._path, "ab"):
            pass  # create it, so a second handle finds it

    @property
    def path(self) -> str:
        """The file holding the store."""
        return self._path

    def _op(self, op: str, *args: Any) -> Any:
        if fcntl is None:
            raise ModuleNotFoundError("No module named 'fcntl' (FileStore needs POSIX locks)")
        with open(self._path, "r+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                raw = f.read()
                data = _decode(json.loads(raw)) if raw else {}
                out = _apply(data, op, args)
                if op in _MUTATING:
                    f.seek(0)
                    f.truncate()
                    f.write(json.dumps(_encode(data)).encode())
                    f.flush()
                return out
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def has_extended_api(self) -> bool:
        """False, as torch's FileStore reports (its append/multi_get/multi_set still work)."""
        return False

    def delete_key(self, key: str) -> bool:
        """Remove ``key``; True whether or not it existed, as torch's FileStore."""
        self._op("delete_key", str(key))
        return True

    def queue_push(self, key: str, value: str | bytes) -> None:
        """Not supported by FileStore (NotImplementedError), as torch's."""
        raise NotImplementedError("queue support is not implemented.")

    def queue_pop(self, key: str, block: bool = True) -> bytes:
        """Not supported by FileStore (NotImplementedError), as torch's."""
        raise NotImplementedError("queue support is not implemented.")

    def queue_len(self, key: str) -> int:
        """Not supported by FileStore (NotImplementedError), as torch's."""
        raise NotImplementedError("queue support is not implemented.")

    def _timeout_error(self, keys: list[str], seconds: float) -> Exception:
        return RuntimeError("Wait timeout")  # torch's FileStore: a plain RuntimeError

    def get(self, key: str) -> bytes:
        """The value of ``key``, waiting up to the timeout (RuntimeError naming the key)."""
        key = str(key)
        seconds = _seconds(self.timeout)
        while True:
            if not self._ready([key], time.monotonic() + seconds):
                raise RuntimeError(
                    f"Timeout waiting for key: {key} after {round(seconds * 1000)} ms"
                )
            value = self._op("get", key)
            if value is not None:
                return value

    def clone(self) -> FileStore:
        """Another handle on the same file."""
        other = FileStore(self._path, self._world_size)
        other._timeout = self._timeout
        return other


# -- TCPStore -------------------------------------------------------------------------------

_HEADER = struct.Struct("!I")


def _send_msg(sock: socket.socket, obj: Any) -> None:
    body = json.dumps(_encode(obj)).encode()
    sock.sendall(_HEADER.pack(len(body)) + body)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _recv_msg(sock: socket.socket) -> Any:
    head = _recv_exact(sock, _HEADER.size)
    if head is None:
        return None
    body = _recv_exact(sock, _HEADER.unpack(head)[0])
    return None if body is None else _decode(json.loads(body))


class _Handler(socketserver.BaseRequestHandler):
    """One client connection: requests [op, args] answered by {"ok": result} or {"err": ...}."""

    def handle(self) -> None:
        store: HashStore = self.server.store  # type: ignore[attr-defined]
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            try:
                msg = _recv_msg(self.request)
            except (OSError, ValueError):
                return
            if msg is None:
                return
            op, args = msg
            try:
                reply = {"ok": store._op(op, *args)}
            except (ValueError, TypeError) as e:
                reply = {"err": [type(e).__name__, str(e)]}
            try:
                _send_msg(self.request, reply)
            except OSError:
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, listen_fd: int | None) -> None:
        self.store = HashStore()
        if listen_fd is not None:
            super().__init__((host, port), _Handler, bind_and_activate=False)
            self.socket = socket.socket(fileno=listen_fd)
        else:
            super().__init__((host, port), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()


_tenants: dict[int, _Server] = {}  # multi_tenant=True: one server per port in this process
_tenants_lock = threading.Lock()


class TCPStore(Store):
    """A store served over TCP by the master process, as ``torch.distributed.TCPStore``.

    ``TCPStore(host_name, port, world_size=None, is_master=False, timeout=300 s,
    wait_for_workers=True, multi_tenant=False, master_listen_fd=None, use_libuv=True)``. The
    master runs the server in a background thread (port 0 picks a free port: read ``.port``).
    With ``world_size`` given, every handle adds 1 to the key ``init/``, and the master waits for
    all ``world_size`` of them when ``wait_for_workers``. A client that cannot connect within
    the timeout raises DistNetworkError. ``use_libuv`` is accepted and only reported back.
    """

    def __init__(
        self,
        host_name: str,
        port: int,
        world_size: int | None = None,
        is_master: bool = False,
        timeout: datetime.timedelta = _DEFAULT_TIMEOUT,
        wait_for_workers: bool = True,
        multi_tenant: bool = False,
        master_listen_fd: int | None = None,
        use_libuv: bool = True,
    ) -> None:
        super().__init__(timeout)
        self._host = host_name
        self._world_size = world_size
        self._use_libuv = bool(use_libuv)
        self._server: _Server | None = None
        self._lock = threading.Lock()
        if is_master:
            self._server = self._start_server(host_name, int(port), multi_tenant, master_listen_fd)
            port = self._server.server_address[1]
        self._port = int(port)
        self._sock = self._connect()
        if world_size is not None:
            self.add("init/", 1)
            if is_master and wait_for_workers:
                self._wait_workers(int(world_size))

    @staticmethod
    def _start_server(host: str, port: int, multi_tenant: bool, fd: int | None) -> _Server:
        if not multi_tenant:
            return _Server(host, port, fd)
        with _tenants_lock:
            if port not in _tenants or port == 0:
                srv = _Server(host, port, fd)
                _tenants[srv.server_address[1]] = srv
                return srv
            return _tenants[port]

    def _connect(self) -> socket.socket:
        seconds = _seconds(self._timeout)
        deadline = time.monotonic() + seconds
        pause = 0.01
        while True:
            try:
                left = max(deadline - time.monotonic(), 0.001)
                sock = socket.create_connection((self._host, self._port), timeout=left)
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError:
                if time.monotonic() >= deadline:
                    raise DistNetworkError(
                        f"The client socket has timed out after {round(seconds * 1000)}ms while "
                        f"trying to connect to ({self._host}, {self._port})."
                    ) from None
                time.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
                pause = min(pause * 2, 0.25)  # the master may not be listening yet

    def _wait_workers(self, world_size: int) -> None:
        seconds = _seconds(self._timeout)
        deadline = time.monotonic() + seconds
        pause = 0.001
        while (joined := int(self._op("get", "init/") or b"0")) < world_size:
            if time.monotonic() >= deadline:
                raise DistStoreError(
                    f"Timed out after {seconds:g} seconds waiting for clients. "
                    f"{joined}/{world_size} clients joined."
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _op(self, op: str, *args: Any) -> Any:
        with self._lock:
            try:
                _send_msg(self._sock, [op, list(args)])
                reply = _recv_msg(self._sock)
            except OSError as e:
                raise DistNetworkError(
                    f"TCPStore connection to ({self._host}, {self._port}) failed: {e}"
                ) from None
        if reply is None:
            raise DistNetworkError(
                f"TCPStore connection to ({self._host}, {self._port}) was closed by the server"
            )
        if "err" in reply:
            kind, text = reply["err"]
            raise (TypeError if kind == "TypeError" else ValueError)(text)
        return reply["ok"]

    def _timeout_error(self, keys: list[str], seconds: float) -> Exception:
        names = ", ".join("/" + k for k in keys)  # torch's server names keys with its "/" prefix
        return DistStoreError(f"wait timeout after {round(seconds * 1000)}ms, keys: {names}")

    @property
    def host(self) -> str:
        """The master's host name."""
        return self._host

    @property
    def port(self) -> int:
        """The master's port (the one picked when it was created with port 0)."""
        return self._port

    @property
    def libuvBackend(self) -> bool:  # noqa: N802 (torch's name)
        """The ``use_libuv`` flag given at construction (ember's server is pure Python)."""
        return self._use_libuv

    def clone(self) -> TCPStore:
        """A new connection to the same server."""
        other = TCPStore(self._host, self._port, None, False, self._timeout)
        other._use_libuv = self._use_libuv
        return other

    def __del__(self) -> None:
        sock = getattr(self, "_sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


class PrefixStore(Store):
    """A view of another store whose keys all get ``prefix + "/"``, as torch's PrefixStore."""

    def __init__(self, prefix: str, store: Store) -> None:
        super().__init__()
        self._prefix = str(prefix)
        self._store = store

    def _k(self, key: str) -> str:
        return f"{self._prefix}/{key}"

    @property
    def underlying_store(self) -> Store:
        """The store this one writes to."""
        return self._store

    @property
    def timeout(self) -> datetime.timedelta:
        """The underlying store's timeout."""
        return self._store.timeout

    def set_timeout(self, timeout: datetime.timedelta) -> None:
        """Set the underlying store's timeout."""
        self._store.set_timeout(timeout)

    def set(self, key: str, value: str | bytes) -> None:
        """Set ``prefix/key``."""
        self._store.set(self._k(key), value)

    def get(self, key: str) -> bytes:
        """Get ``prefix/key``, waiting for it."""
        return self._store.get(self._k(key))

    def add(self, key: str, amount: int) -> int:
        """Add to ``prefix/key``."""
        return self._store.add(self._k(key), amount)

    def compare_set(
        self, key: str, expected_value: str | bytes, desired_value: str | bytes
    ) -> bytes:
        """compare_set on ``prefix/key``."""
        return self._store.compare_set(self._k(key), expected_value, desired_value)

    def append(self, key: str, value: str | bytes) -> None:
        """Append to ``prefix/key``."""
        self._store.append(self._k(key), value)

    def multi_get(self, keys: Sequence[str]) -> list[bytes]:
        """multi_get on the prefixed keys."""
        return self._store.multi_get([self._k(k) for k in keys])

    def multi_set(self, keys: Sequence[str], values: Sequence[str | bytes]) -> None:
        """multi_set on the prefixed keys."""
        self._store.multi_set([self._k(k) for k in keys], values)

    def check(self, keys: Sequence[str]) -> bool:
        """check on the prefixed keys."""
        return self._store.check([self._k(k) for k in keys])

    def delete_key(self, key: str) -> bool:
        """Delete ``prefix/key``."""
        return self._store.delete_key(self._k(key))

    def num_keys(self) -> int:
        """The underlying store's key count (all prefixes, as torch)."""
        return self._store.num_keys()

    def list_keys(self) -> list[str]:
        """The keys under this prefix, without it."""
        head = self._prefix + "/"
        return [k[len(head) :] for k in self._store.list_keys() if k.startswith(head)]

    def wait(self, keys: Sequence[str], timeout: datetime.timedelta | None = None) -> None:
        """Wait for the prefixed keys."""
        self._store.wait([self._k(k) for k in keys], *(() if timeout is None else (timeout,)))

    def queue_push(self, key: str, value: str | bytes) -> None:
        """Push to queue ``prefix/key``."""
        self._store.queue_push(self._k(key), value)

    def queue_pop(self, key: str, block: bool = True) -> bytes:
        """Pop from queue ``prefix/key``."""
        return self._store.queue_pop(self._k(key), block)

    def queue_len(self, key: str) -> int:
        """Length of queue ``prefix/key``."""
        return self._store.queue_len(self._k(key))

    def has_extended_api(self) -> bool:
        """Whether the underlying store has append/multi_get/multi_set/list_keys."""
        return self._store.has_extended_api()

    def clone(self) -> PrefixStore:
        """The same prefix over a clone of the underlying store."""
        return PrefixStore(self._prefix, self._store.clone())
