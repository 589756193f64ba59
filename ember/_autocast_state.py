"""Autocast state (thread-local, as torch): per device type, whether autocast is on and its dtype.

It sits below the ops so that the op functions of torch's autocast lists read it at entry: with
autocast off that is one read, ``state.active``; ``ember/ops/_autocast.py`` does the casting and
``ember/amp/`` holds the public context manager over it.
"""

from __future__ import annotations

import threading

from .dtypes import bfloat16, float16

# the device types torch accepts in a device string, for its error on any other name
_TORCH_DEVICE_TYPES = (
    "cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, maia, xla, lazy, vulkan, "
    "mps, meta, hpu, mtia, privateuseone"
)


class _AutocastState(threading.local):
    # class attributes give every new thread torch's defaults
    active = False  # any device type enabled: the one read on an op's path
    enabled: dict  # device type -> bool (per thread, made on first use)
    dtypes: dict  # device type -> ember dtype
    cache_enabled = True
    nesting = 0

    def __init__(self) -> None:
        self.enabled = {}
        self.dtypes = {"cpu": bfloat16, "cuda": float16}


state = _AutocastState()


def check_device_type(device_type: str) -> str:
    """The device type ('cpu', 'cuda', ...), or torch's error for a name it does not know."""
    name = device_type.split(":")[0]
    if name not in _TORCH_DEVICE_TYPES.split(", "):
        raise RuntimeError(
            f"Expected one of {_TORCH_DEVICE_TYPES} device type at start of device string: "
            f"{device_type}"
        )
    return name


def is_enabled(device_type: str) -> bool:
    return state.enabled.get(check_device_type(device_type), False)


def set_enabled(device_type: str, enabled: bool) -> None:
    state.enabled[check_device_type(device_type)] = bool(enabled)
    state.active = any(state.enabled.values())


def get_dtype(device_type: str):
    return state.dtypes.get(check_device_type(device_type), float16)


def set_dtype(device_type: str, dtype) -> None:
    state.dtypes[check_device_type(device_type)] = dtype
