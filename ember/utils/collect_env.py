"""torch.utils.collect_env: ember's report of versions and optional components (the content of
``ember info``). torch's ``SystemEnv`` lists compilers, CUDA libraries and pip packages; ember's
names what runs it: ember, the torch API it follows, Python, NumPy, CUDA and the optional parts."""

from __future__ import annotations

import platform
import sys
from typing import NamedTuple

import numpy

import ember

__all__ = ["SystemEnv", "get_env_info", "get_pretty_env_info", "main"]

OPTIONAL = ("cupy", "tqdm", "matplotlib", "tensorboardX", "ml_dtypes", "mpi4py")


class SystemEnv(NamedTuple):
    """What ``get_env_info`` collects; an optional package is its version or "not installed"."""

    ember_version: str
    torch_version: str
    python_version: str
    python_platform: str
    numpy_version: str
    is_cuda_available: bool
    optional_packages: dict[str, str]


def _version_of(name: str) -> str:
    try:
        mod = __import__(name)
    except Exception:  # an optional package that is absent or fails to import
        return "not installed"
    return getattr(mod, "__version__", "installed")


def get_env_info() -> SystemEnv:
    """The versions of ember, Python, NumPy and the optional packages, and CUDA's availability."""
    return SystemEnv(
        ember_version=ember.version.ember,
        torch_version=str(ember.__version__).split("+")[0],
        python_version=platform.python_version(),
        python_platform=platform.platform(),
        numpy_version=numpy.__version__,
        is_cuda_available=ember.cuda.is_available(),
        optional_packages={name: _version_of(name) for name in OPTIONAL},
    )


def get_pretty_env_info() -> str:
    """``get_env_info`` as the lines ``ember info`` prints."""
    env = get_env_info()
    pkgs = dict(env.optional_packages)
    lines = [
        f"ember {env.ember_version} (torch API {env.torch_version})",
        f"python {env.python_version}  numpy {env.numpy_version}",
        f"cuda available: {env.is_cuda_available}  (cupy: {pkgs.pop('cupy')})",
        *(f"{name}: {version}" for name, version in pkgs.items()),
    ]
    return "\n".join(lines)


def main() -> None:
    """Print the report (``python -m torch.utils.collect_env``)."""
    print("Collecting environment information...")
    print(get_pretty_env_info())


if __name__ == "__main__":
    main()
    sys.exit(0)
