"""torch.hub: the hub folder, checkpoints from URLs cached there, and models from a hubconf.py.

``load_state_dict_from_url`` keeps each checkpoint at ``<hub dir>/checkpoints/<file name>``
(``$TORCH_HOME/hub``, TORCH_HOME defaulting to ``$XDG_CACHE_HOME/torch``, or ``set_dir``), the
same place torch uses, so files downloaded by either are found by both; a missing file is
downloaded with a progress bar (tqdm when installed), its SHA-256 prefix checked on request.
``load``/``list``/``help`` read a repository's ``hubconf.py``: a GitHub repository already in
the hub folder, or for ``load`` a local folder too (``source='local'``) (ember downloads no
repositories: ``owner/name[:ref]`` is looked up as ``<hub dir>/owner_name_ref``, torch's
layout).
"""

from __future__ import annotations

import builtins
import hashlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .serialization import load as _load

__all__ = [
    "download_url_to_file",
    "get_dir",
    "help",
    "list",
    "load",
    "load_state_dict_from_url",
    "set_dir",
]

_hub_dir: list = [None]  # set_dir's folder, else None (the environment decides)
_HASH_RE = re.compile(r"-([a-f0-9]*)\.")


def get_dir() -> str:
    """The hub folder: ``set_dir``'s, else $TORCH_HOME/hub (TORCH_HOME defaulting to
    $XDG_CACHE_HOME/torch, that to ~/.cache)."""
    if _hub_dir[0] is not None:
        return _hub_dir[0]
    torch_home = os.path.expanduser(
        os.getenv(
            "TORCH_HOME",
            os.path.join(os.getenv("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"),
        )
    )
    return os.path.join(torch_home, "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Use ``d`` as the hub folder from now on."""
    _hub_dir[0] = os.path.expanduser(os.fspath(d))


def _progress_bar(total: int | None, enabled: bool):
    """tqdm when installed (an optional extra), else a plain line on stderr."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm  # optional: a nicer bar

        return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024)
    except ImportError:
        return _PlainBar(total)


class _PlainBar:
    def __init__(self, total: int | None) -> None:
        self.total, self.n = total, 0

    def update(self, n: int) -> None:
        self.n += n
        if self.total:
            pct = 100.0 * self.n / self.total
            sys.stderr.write(
                f"\r{self.n / 2**20:.1f} MiB / {self.total / 2**20:.1f} MiB ({pct:.0f}%)"
            )
        else:
            sys.stderr.write(f"\r{self.n / 2**20:.1f} MiB")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


def download_url_to_file(
    url: str, dst: str, hash_prefix: str | None = None, progress: bool = True
) -> None:
    """Download ``url`` to ``dst`` (through a temporary file beside it), checking that the
    file's SHA-256 starts with ``hash_prefix`` when given."""
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "ember"}))
    except (urllib.error.URLError, OSError) as e:
        raise RuntimeError(
            f"could not download {url} ({e}). Without network access, fetch that file elsewhere "
            f"and put it at {dst}"
        ) from None
    size = resp.headers.get("Content-Length")
    total = int(size) if size else None
    folder = os.path.dirname(os.path.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    tmp = tempfile.NamedTemporaryFile(delete=False, dir=folder, suffix=".partial")
    sha = hashlib.sha256()
    bar = _progress_bar(total, progress)
    try:
        with tmp:
            while True:
                chunk = resp.read(1 << 20)
                if not chunk:
                    break
                tmp.write(chunk)
                sha.update(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        if bar is not None:
            bar.close()
        if hash_prefix is not None and not sha.hexdigest().startswith(hash_prefix):
            raise RuntimeError(
                f'invalid hash value (expected "{hash_prefix}", got "{sha.hexdigest()}")'
            )
        shutil.move(tmp.name, dst)
    finally:
        if os.path.exists(tmp.name):
            os.remove(tmp.name)


def load_state_dict_from_url(
    url: str,
    model_dir: str | None = None,
    map_location: Any = None,
    progress: bool = True,
    check_hash: bool = False,
    file_name: str | None = None,
    weights_only: bool = True,
) -> dict[str, Any]:
    """The checkpoint at ``url``, cached at ``<hub dir>/checkpoints/<file name>`` (downloaded
    there when missing; ``check_hash`` compares the hex digits after the last '-' of the file
    name with the file's SHA-256, as torch does)."""
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    filename = file_name or os.path.basename(urllib.parse.urlparse(url).path)
    cached = os.path.join(model_dir, filename)
    if not os.path.exists(cached):
        sys.stderr.write(f'Downloading: "{url}" to {cached}\n')
        m = _HASH_RE.search(filename)
        download_url_to_file(url, cached, m.group(1) if (check_hash and m) else None, progress)
    return _load(cached, map_location=map_location, weights_only=weights_only)


# --- hubconf.py entry points ------------------------------------------------------------------
def _repo_dir(repo_or_dir: str, source: str) -> str:
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "local":
        return repo_or_dir
    owner_name, _, ref = repo_or_dir.partition(":")
    if "/" not in owner_name:
        raise ValueError(
            f'Invalid input: repo_or_dir="{repo_or_dir}" should be of the form '
            '"repo_owner/repo_name[:ref]"'
        )
    owner, name = owner_name.split("/", 1)
    candidates = (
        [f"{owner}_{name}_{ref}"] if ref else [f"{owner}_{name}_main", f"{owner}_{name}_master"]
    )
    for c in candidates:
        path = os.path.join(get_dir(), c)
        if os.path.isdir(path):
            return path
    raise RuntimeError(
        f"ember downloads no hub repositories: put a copy of github.com/{owner_name} at "
        f"{os.path.join(get_dir(), candidates[0])}, or load it with source='local'"
    )


def _hubconf(repo_dir: str):
    path = os.path.join(repo_dir, "hubconf.py")
    if not os.path.isfile(path):
        raise RuntimeError(f"Cannot find hubconf.py in {repo_dir}")
    sys.path.insert(0, repo_dir)  # hubconf imports the repository's own modules
    try:
        spec = importlib.util.spec_from_file_location("hubconf", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(repo_dir)
    missing = [
        d for d in getattr(module, "dependencies", []) if importlib.util.find_spec(d) is None
    ]
    if missing:
        raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    return module


def _entrypoint(module, model: str):
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    fn = getattr(module, model, None)
    if fn is None or not callable(fn):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return fn


def list(  # noqa: A001 - torch.hub.list
    github: str, force_reload: bool = False, skip_validation: bool = False,
    trust_repo="check", verbose: bool = True,
) -> builtins.list:  # fmt: skip
    """The entry points (public callables) of a GitHub repository's hubconf.py (already in
    the hub folder)."""
    module = _hubconf(_repo_dir(github, "github"))
    return [f for f in dir(module) if callable(getattr(module, f)) and not f.startswith("_")]


def help(  # noqa: A001 - torch.hub.help
    github: str, model: str, force_reload: bool = False, skip_validation: bool = False,
    trust_repo="check",
) -> str:  # fmt: skip
    """The docstring of one entry point of a GitHub repository's hubconf.py."""
    return _entrypoint(_hubconf(_repo_dir(github, "github")), model).__doc__


def load(
    repo_or_dir: str, model: str, *args: Any, source: str = "github", trust_repo="check",
    force_reload: bool = False, verbose: bool = True, skip_validation: bool = False,
    **kwargs: Any,
) -> Any:  # fmt: skip
    """``model(*args, **kwargs)`` from the repository's hubconf.py (a local folder with
    ``source='local'``, or a GitHub repository already in the hub folder)."""
    return _entrypoint(_hubconf(_repo_dir(repo_or_dir, source)), model)(*args, **kwargs)
