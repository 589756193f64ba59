"""``torch.distributed.rendezvous``: turn an init URL (env://, tcp://, file://) into
``(store, rank, world_size)``.

ember's ``init_process_group`` takes ranks from MPI and needs no rendezvous; these are for code
that builds its stores itself (a TCPStore for a side channel, a FileStore on shared disk).
"""

from __future__ import annotations

import datetime
import numbers
import os
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from ._store import FileStore, Store, TCPStore
from .constants import default_pg_timeout

__all__ = ["register_rendezvous_handler", "rendezvous"]

Handler = Callable[..., Iterator[tuple[Store, int, int]]]
_handlers: dict[str, Handler] = {}


def register_rendezvous_handler(scheme: str, handler: Handler) -> None:
    """Register ``handler(url, **kwargs)``, a generator of (store, rank, world_size), for a scheme.

    A scheme can be registered once (RuntimeError after that), as torch.
    """
    if scheme in _handlers:
        raise RuntimeError(f"Rendezvous handler for {scheme}:// already registered")
    _handlers[scheme] = handler


def rendezvous(url: str, rank: int = -1, world_size: int = -1, **kwargs) -> Iterator:
    """The iterator of (store, rank, world_size) of the handler for ``url``'s scheme.

    ``rank``/``world_size`` other than -1 are added to the URL's query (an AssertionError if it
    already has them, as torch); ``timeout=`` goes to the store.
    """
    if not isinstance(url, str):
        raise RuntimeError(f"`url` must be a string. {type(url)}: {url}")
    if not isinstance(rank, numbers.Integral):
        raise RuntimeError(f"`rank` must be an integer. {rank}")
    if not isinstance(world_size, numbers.Integral):
        raise RuntimeError(f"`world_size` must be an integer. {world_size}")
    parts = urlparse(url)
    if rank != -1 or world_size != -1:
        query = dict(parse_qsl(parts.query))
        if "rank" in query or "world_size" in query:
            raise AssertionError(
                f"The url: {url} has node-specific arguments(rank, world_size) already."
            )
        if rank != -1:
            query["rank"] = str(rank)
        if world_size != -1:
            query["world_size"] = str(world_size)
        url = urlunparse(parts._replace(query=urlencode(query)))
        parts = urlparse(url)
    if parts.scheme not in _handlers:
        raise RuntimeError(f"No rendezvous handler for {parts.scheme}://")
    return _handlers[parts.scheme](url, **kwargs)


def _error(kind: str, msg: str) -> ValueError:
    return ValueError(f"Error initializing torch.distributed using {kind}:// rendezvous: {msg}")


def _rank_and_size(kind: str, query: dict) -> tuple[int, int]:
    if "rank" not in query:
        raise _error(kind, "rank parameter missing")
    if "world_size" not in query:
        raise _error(kind, "world size parameter missing")
    return int(query["rank"]), int(query["world_size"])


def _timeout(kwargs: dict) -> datetime.timedelta:
    t = kwargs.get("timeout", default_pg_timeout)
    return t if isinstance(t, datetime.timedelta) else datetime.timedelta(seconds=float(t))


def _tcp_store(host: str, port: int, rank: int, world_size: int, kwargs: dict) -> TCPStore:
    if not 0 <= port < 2**16:
        raise ValueError(f"port must have value from 0 to 65535 but was {port}.")
    # rank 0 serves (shared by the stores of one process on that port); the master does not
    # wait for the others here: whoever uses the store waits for the keys it needs
    return TCPStore(host, port, world_size, rank == 0, _timeout(kwargs), False, multi_tenant=True)


def _file_handler(url: str, **kwargs) -> Iterator[tuple[Store, int, int]]:
    parts = urlparse(url)
    path = parts.path or parts.netloc
    if not path:
        raise _error("file", "path missing")
    rank, world_size = _rank_and_size("file", dict(parse_qsl(parts.query)))
    store = FileStore(path, world_size)
    store.set_timeout(_timeout(kwargs))
    yield store, rank, world_size
    raise RuntimeError("Unable to perform rerendezvous using file:// method")


def _tcp_handler(url: str, **kwargs) -> Iterator[tuple[Store, int, int]]:
    parts = urlparse(url)
    if not parts.port:
        raise _error("tcp", "port number missing")
    rank, world_size = _rank_and_size("tcp", dict(parse_qsl(parts.query)))
    yield _tcp_store(parts.hostname, parts.port, rank, world_size, kwargs), rank, world_size
    raise RuntimeError("Unable to perform re-rendezvous using tcp:// method")


def _env_handler(url: str, **kwargs) -> Iterator[tuple[Store, int, int]]:
    query = dict(parse_qsl(urlparse(url).query))

    def env(var: str) -> str:
        value = os.environ.get(var)
        if value is None:
            raise _error("env", f"environment variable {var} expected, but not set")
        return value

    rank = int(query["rank"]) if "rank" in query else int(env("RANK"))
    world_size = int(query["world_size"]) if "world_size" in query else int(env("WORLD_SIZE"))
    host, port = env("MASTER_ADDR"), int(env("MASTER_PORT"))
    yield _tcp_store(host, port, rank, world_size, kwargs), rank, world_size
    raise RuntimeError("Unable to perform re-rendezvous using env:// method")


register_rendezvous_handler("tcp", _tcp_handler)
register_rendezvous_handler("env", _env_handler)
register_rendezvous_handler("file", _file_handler)
