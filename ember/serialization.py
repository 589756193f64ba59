"""torch.save / torch.load for ember: PyTorch's zip checkpoint format, read and written
without torch; ``weights_only=True`` (the default) loads only tensors and plain containers.

``load(f, weights_only=False)`` runs Python's full unpickler: a malicious file can execute
arbitrary code that way, so use it only for files from a source you trust.

Not supported (each raises a clear error): dtypes ember lacks (float8, complex32, bits),
quantized, sparse and nested tensors, TorchScript archives and the pre-0.4 tar format. Python
attributes set on plain tensors are not saved.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import secrets
import tempfile
import warnings
from typing import IO, Any

from ._serialization import names as _names
from ._serialization.legacy import MAGIC_PREFIX, load_legacy
from ._serialization.loader import checkpoint_prefix, load_zip
from ._serialization.pickler import Pickler
from ._serialization.unpickler import map_py2
from ._serialization.zip_reader import ZipReader
from ._serialization.zip_writer import ZipWriter
from ._torch_alias import module_getattr as _module_getattr
from .safetensors import load_file

__all__ = [
    "save",
    "load",
    "add_safe_globals",
    "safe_globals",
    "get_safe_globals",
    "clear_safe_globals",
    "get_unsafe_globals_in_checkpoint",
    "DEFAULT_PROTOCOL",
]

DEFAULT_PROTOCOL = 2
FILE_LIKE = str | os.PathLike | IO[bytes]


# --- allowlist for weights_only=True ----------------------------------------------------------


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes/functions (or ``(obj, "full.path")`` pairs) in weights_only loads."""
    _names.add_user_globals(safe_globals)


def get_safe_globals() -> list:
    """The user's allowlist, as given to ``add_safe_globals``."""
    return list(_names._user_globals)


def clear_safe_globals() -> None:
    """Forget every global added with ``add_safe_globals``."""
    _names._user_globals.clear()


class safe_globals:
    """Context manager: allow these globals in weights_only loads inside the ``with`` block."""

    def __init__(self, safe_globals: list):
        self.safe_globals = list(safe_globals)
        self._added: list = []

    def __enter__(self):
        self._added = [g for g in self.safe_globals if g not in _names._user_globals]
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc) -> None:
        for g in self._added:
            _names._user_globals.discard(g)


# --- save ------------------------------------------------------------------------------------


def _archive_name(f) -> str:
    if isinstance(f, (str, os.PathLike)):
        stem = os.path.splitext(os.path.basename(os.fspath(f)))[0]
        if stem and stem.isascii() and stem.isprintable() and not stem.startswith("."):
            return stem
    return "archive"


def _write_archive(stream, prefix: str, pkl: bytes, records: list) -> None:
    zw = ZipWriter(stream, prefix)
    zw.write_record("data.pkl", pkl)
    zw.write_record(".format_version", b"1")
    zw.write_record(".storage_alignment", b"64")
    zw.write_record("byteorder", b"little")
    for key, rec in enumerate(records):
        zw.write_record(f"data/{key}", rec)
    zw.write_record("version", b"3\n")
    zw.write_record(".data/serialization_id", str(secrets.randbits(128)).zfill(40).encode())
    zw.close()


def _umask() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def save(
    obj: object,
    f: FILE_LIKE,
    pickle_module: Any = None,
    pickle_protocol: int = DEFAULT_PROTOCOL,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Save ``obj`` in torch's zip format (protocol-2 pickle always); paths are replaced
    atomically."""
    if pickle_module is not None and pickle_module is not pickle:
        raise RuntimeError(
            "ember.save writes its own protocol-2 pickle; pickle_module is not supported"
        )
    if not _use_new_zipfile_serialization:
        warnings.warn(
            "ember.save always writes the zip format (torch >= 1.6 reads it)", stacklevel=2
        )
    p = Pickler()
    pkl = p.dumps(obj)
    prefix = _archive_name(f)
    if not isinstance(f, (str, os.PathLike)):
        _write_archive(f, prefix, pkl, p.storages.records)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise RuntimeError(f"Parent directory {folder} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_archive(fh, prefix, pkl, p.storages.records)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# --- load ------------------------------------------------------------------------------------

_UNSAFE_HINT = (
    "Re-running `load` with `weights_only=False` will likely succeed, but it can execute "
    "arbitrary code from the file: do it only if you trust where the file came from."
)


def _kind_error(head: bytes) -> Exception:
    if len(head) >= 262 and head[257:262] == b"ustar":
        return RuntimeError(
            "this file is a tar archive (torch's pre-0.4 checkpoint format), "
            "which ember cannot load; re-save it with a recent torch"
        )
    if len(head) >= 9 and head[8:9] == b"{":
        return RuntimeError(
            "this looks like a safetensors file: load it with ember.safetensors.load_file"
        )
    if not head:
        return pickle.UnpicklingError("the checkpoint file is empty (truncated?)")
    return pickle.UnpicklingError(
        f"this file is not a PyTorch checkpoint (invalid load key, {head[:1]!r}; expected a "
        "zip archive or a legacy torch.save pickle)"
    )


_TRUE_VALUES = ("1", "y", "yes", "true")


def _env_flag(name: str) -> bool:
    return os.getenv(name, "0").lower() in _TRUE_VALUES


def _resolve_weights_only(weights_only: bool | None, pickle_module: Any) -> bool:
    """torch.load's choice of weights_only: the argument, else True unless a pickle_module is
    given; TORCH_FORCE_WEIGHTS_ONLY_LOAD forces True always, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD
    forces False only where the caller left weights_only unset (with a warning)."""
    not_set = weights_only is None
    if not_set:
        weights_only = pickle_module is None
    force_on = _env_flag("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    force_off = _env_flag("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    if force_on and force_off:
        raise RuntimeError(
            "Only one of `TORCH_FORCE_WEIGHTS_ONLY_LOAD` or `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD` "
            "should be set, but both were set."
        )
    if force_on:
        return True
    if force_off and not_set:
        # stacklevel 3: the warning points at the caller of load, as torch's does
        warnings.warn(
            "Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected, since the"
            "`weights_only` argument was not explicitly passed to `torch.load`, forcing "
            "weights_only=False.",
            UserWarning,
            stacklevel=3,
        )
        return False
    return bool(weights_only)


def load(
    f: FILE_LIKE,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Load an object saved by ``torch.save``/``ember.save``; ``weights_only=False`` is unsafe."""
    weights_only = _resolve_weights_only(weights_only, pickle_module)
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    is_path = isinstance(f, (str, os.PathLike))
    if is_path and os.fspath(f).endswith(".safetensors"):
        if isinstance(map_location, dict) or callable(map_location):
            raise RuntimeError(
                "Loading a safetensors file with a dict or callable map_location "
                "is not supported; use a device string or ember.device"
            )
        dev = "cpu" if map_location is None else str(map_location)
        return load_file(f, device=dev)
    if mmap and not is_path:
        raise ValueError("f must be a file path in order to use the mmap argument")
    own = None
    if is_path:
        own = stream = open(os.fspath(f), "rb")
    else:
        stream = f
        if not (getattr(stream, "seekable", None) and stream.seekable()):
            stream = io.BytesIO(stream.read())
    try:
        start = stream.tell()
        head = stream.read(512)
        stream.seek(start)
        try:
            if head[:4] == b"PK\x03\x04":
                if start:
                    stream = io.BytesIO(stream.read())
                reader = ZipReader(stream, os.fspath(f) if mmap else None)
                return load_zip(reader, map_location, weights_only, pickle_load_args)
            if mmap:
                raise RuntimeError(
                    "mmap can only be used with files saved in the zip format "
                    "(torch >= 1.6 or ember.save)"
                )
            if head.startswith(MAGIC_PREFIX):
                return load_legacy(stream.read(), map_location, weights_only, pickle_load_args)
            raise _kind_error(head)
        except pickle.UnpicklingError as e:
            if weights_only and head.startswith((b"PK", MAGIC_PREFIX)):
                raise pickle.UnpicklingError(
                    f"Weights only load failed. {e}\n{_UNSAFE_HINT}"
                ) from None
            raise
    finally:
        if own is not None:
            own.close()


def get_unsafe_globals_in_checkpoint(f: FILE_LIKE) -> list[str]:
    """The globals of a zip checkpoint that weights_only=True would refuse (nothing is run)."""
    own = open(os.fspath(f), "rb") if isinstance(f, (str, os.PathLike)) else None
    try:
        reader = ZipReader(own or f)
        prefix = checkpoint_prefix(reader)
        data = reader.read_bytes(f"{prefix}/data.pkl")
    finally:
        if own is not None:
            own.close()
    safe = _names.safe_globals_table()
    found = set()
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            module, name = map_py2(*arg.split(" ", 1))
            full = f"{module}.{name}"
            if (
                full not in safe
                and _names.user_allowed(module, name) is None
                and full not in _names.user_globals_table()
            ):
                found.add(full)
    return sorted(found)


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
