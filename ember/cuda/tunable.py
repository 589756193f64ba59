"""torch.cuda.tunable: TunableOp, which times several GEMM implementations and keeps the fastest.

ember's GEMMs have one implementation each, so there is nothing to tune: with a GPU the settings
are stored and read back (as ``torch.backends.cuda``'s switches are) and change nothing, no
results are ever recorded, and tuning a file of GEMMs does nothing once torch's checks pass.
Without a GPU every call raises "Torch not compiled with CUDA enabled" (torch's CPU build fails
there on ``torch._C``), except ``mgpu_tune_gemm_in_file``, which raises torch's check of
``num_gpus``.
"""

from __future__ import annotations

import os

from .._torch_alias import module_getattr as _module_getattr
from ._runtime import current_device, device_count, require

__all__ = [
    "enable",
    "is_enabled",
    "tuning_enable",
    "tuning_is_enabled",
    "record_untuned_enable",
    "record_untuned_is_enabled",
    "set_max_tuning_duration",
    "get_max_tuning_duration",
    "set_max_tuning_iterations",
    "get_max_tuning_iterations",
    "set_filename",
    "get_filename",
    "get_results",
    "get_validators",
    "read_file",
    "tune_gemm_in_file",
    "mgpu_tune_gemm_in_file",
    "set_rotating_buffer_size",
    "get_rotating_buffer_size",
    "set_numerical_check_tolerances",
]

_settings: dict = {
    "enabled": False,
    "tuning": True,
    "record_untuned": False,
    "max_tuning_duration": 30,  # milliseconds
    "max_tuning_iterations": 100,
    "filename": "tunableop_results.csv",
    "rotating_buffer_size": 0,  # MB
    "numerical_check": (False, 1e-5, 1e-5),
}


def _set(key: str, value) -> None:
    require()
    _settings[key] = value


def _get(key: str):
    require()
    return _settings[key]


def enable(val: bool = True) -> None:
    """Turn TunableOp on or off (recorded only: ember has nothing to tune)."""
    _set("enabled", bool(val))


def is_enabled() -> bool:
    return _get("enabled")


def tuning_enable(val: bool = True) -> None:
    """Allow or forbid tuning GEMMs not yet in the results (recorded only)."""
    _set("tuning", bool(val))


def tuning_is_enabled() -> bool:
    return _get("tuning")


def record_untuned_enable(val: bool = True) -> None:
    """Record GEMMs that have no tuned result (recorded only)."""
    _set("record_untuned", bool(val))


def record_untuned_is_enabled() -> bool:
    return _get("record_untuned")


def set_max_tuning_duration(duration: int) -> None:
    """Milliseconds to spend tuning one GEMM (recorded only)."""
    _set("max_tuning_duration", int(duration))


def get_max_tuning_duration() -> int:
    return _get("max_tuning_duration")


def set_max_tuning_iterations(iterations: int) -> None:
    """Runs of each candidate while tuning one GEMM (recorded only)."""
    _set("max_tuning_iterations", int(iterations))


def get_max_tuning_iterations() -> int:
    return _get("max_tuning_iterations")


def set_filename(filename: str, insert_device_ordinal: bool = False) -> None:
    """The results file; ``insert_device_ordinal`` puts the current GPU's ordinal before its
    extension ('results.csv' -> 'results0.csv')."""
    require()
    if insert_device_ordinal:
        root, ext = os.path.splitext(filename)
        filename = f"{root}{current_device()}{ext}"
    _settings["filename"] = filename


def get_filename() -> str:
    return _get("filename")


def get_results() -> tuple:
    """The tuned GEMMs: none in ember."""
    require()
    return ()


def get_validators() -> tuple:
    """The validators stored with the results: none in ember."""
    require()
    return ()


def read_file(filename: str | None = None) -> bool:
    """Load tuned results: ember keeps none, so nothing is loaded (False)."""
    require()
    return False


def tune_gemm_in_file(filename: str) -> None:
    """Tune the GEMMs listed in a file of untuned ones: torch's checks, then nothing to do."""
    if not is_enabled():
        raise AssertionError("TunableOp is not enabled")
    if not tuning_is_enabled():
        raise AssertionError("Tuning is not enabled")


def mgpu_tune_gemm_in_file(filename_pattern: str, num_gpus: int) -> None:
    """``tune_gemm_in_file`` over several GPUs: torch's check of ``num_gpus``, then nothing."""
    total = device_count()
    if not 1 <= num_gpus <= total:
        raise AssertionError(f"num_gpus must be between 1 and {total}, got {num_gpus}")


def set_rotating_buffer_size(buffer_size: int) -> None:
    """MB of inputs to rotate through while timing (recorded only)."""
    _set("rotating_buffer_size", int(buffer_size))


def get_rotating_buffer_size() -> int:
    return _get("rotating_buffer_size")


def set_numerical_check_tolerances(enable: bool, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    """Check each candidate's result against the default GEMM's (recorded only)."""
    _set("numerical_check", (bool(enable), float(atol), float(rtol)))


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
