"""What nvidia-smi reports about a GPU (utilization, temperature, power, clocks, memory), read
through NVML with the nvidia-ml-py package (``pynvml``), as torch reads it.

Without nvidia-ml-py each query raises torch's ModuleNotFoundError; without a driver, torch's
RuntimeError.
"""

from __future__ import annotations

import os
from typing import Any

from ._runtime import Device, index_of


def nvml_device(device: Device = None) -> tuple[Any, Any]:
    """(pynvml, the NVML handle of a CUDA device), NVML initialised.

    CUDA_VISIBLE_DEVICES renumbers (or names by UUID) the GPUs CUDA sees; NVML sees them all,
    so a CUDA ordinal is mapped through it.
    """
    try:
        import pynvml  # optional dependency (nvidia-ml-py): only these queries need it
    except ImportError as e:
        raise ModuleNotFoundError(
            "nvidia-ml-py does not seem to be installed or it can't be imported."
        ) from e
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError_DriverNotLoaded as e:
        raise RuntimeError("cuda driver can't be loaded, is cuda enabled?") from e
    index = index_of(device)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return pynvml, pynvml.nvmlDeviceGetHandleByIndex(index)
    ids = [v.strip() for v in visible.split(",") if v.strip()]
    if not 0 <= index < len(ids):
        raise RuntimeError(f"device {index} is not visible (CUDA_VISIBLE_DEVICES={visible})")
    entry = ids[index]
    if entry.isdigit():
        return pynvml, pynvml.nvmlDeviceGetHandleByIndex(int(entry))
    return pynvml, pynvml.nvmlDeviceGetHandleByUUID(entry)


def utilization(device: Device = None) -> int:
    """Percent of the last sample period in which a kernel ran on the GPU."""
    pynvml, handle = nvml_device(device)
    return pynvml.nvmlDeviceGetUtilizationRates(handle).gpu


def memory_usage(device: Device = None) -> int:
    """Percent of the last sample period in which device memory was read or written."""
    pynvml, handle = nvml_device(device)
    return pynvml.nvmlDeviceGetUtilizationRates(handle).memory


def temperature(device: Device = None) -> int:
    """The GPU die's temperature in degrees Celsius."""
    pynvml, handle = nvml_device(device)
    return pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU)


def power_draw(device: Device = None) -> int:
    """The GPU's power draw in milliwatts."""
    pynvml, handle = nvml_device(device)
    return pynvml.nvmlDeviceGetPowerUsage(handle)


def clock_rate(device: Device = None) -> int:
    """The SM clock in MHz."""
    pynvml, handle = nvml_device(device)
    return pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_SM)


def device_memory_used(device: Device = None) -> int:
    """Bytes in use on the GPU by all processes (nvidia-smi's figure)."""
    pynvml, handle = nvml_device(device)
    return pynvml.nvmlDeviceGetMemoryInfo(handle).used
