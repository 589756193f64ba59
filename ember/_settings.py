"""Process-wide flags torch keeps at its top level, recorded so that programs which set and read
them run unchanged: the float32 matmul precision (TF32 and bfloat16 passes are GPU matters;
ember's CPU products stay float32 whatever it says), the inter-op thread count (ember has no
inter-op pool), ``set_warn_always`` and the autograd anomaly mode (ember's backward errors
already name the failing op; the flag is kept for ``is_anomaly_enabled``).

This module imports nothing of ember's, so ``autograd`` can record the anomaly mode here.
"""

from __future__ import annotations

import os
import warnings

_state = {
    "matmul_precision": "highest",
    "interop_threads": None,
    "warn_always": False,
    "anomaly": False,
    "anomaly_check_nan": True,
}
_PRECISIONS = ("highest", "high", "medium")


def get_float32_matmul_precision() -> str:
    """'highest' unless set otherwise, as torch.get_float32_matmul_precision."""
    return _state["matmul_precision"]


def set_float32_matmul_precision(precision: str) -> None:
    """Record 'highest', 'high' or 'medium' (another value warns and changes nothing, as
    torch); ember's CPU matrix products stay float32 either way."""
    if precision not in _PRECISIONS:
        warnings.warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
            "setFloat32MatmulPrecision call has no effect.",
            stacklevel=2,
        )
        return
    _state["matmul_precision"] = precision


def get_num_interop_threads() -> int:
    """The inter-op thread count torch would report: the number set, else the CPU count."""
    n = _state["interop_threads"]
    if n is not None:
        return n
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def set_num_interop_threads(n: int) -> None:
    """Record the inter-op thread count (ember runs no inter-op pool)."""
    if int(n) < 1:
        raise RuntimeError("Expected positive number of threads")
    _state["interop_threads"] = int(n)


def set_warn_always(b: bool) -> None:
    """Record the flag, as torch.set_warn_always."""
    _state["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    return _state["warn_always"]


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Record the autograd anomaly mode, as torch.set_anomaly_enabled."""
    _state["anomaly"] = bool(enabled)
    _state["anomaly_check_nan"] = bool(check_nan)


def is_anomaly_enabled() -> bool:
    return _state["anomaly"]


def is_anomaly_check_nan_enabled() -> bool:
    return _state["anomaly_check_nan"]
