"""Anomaly mode (``torch.autograd.anomaly_mode``): ``detect_anomaly`` and ``set_detect_anomaly``."""

from __future__ import annotations

from .. import _settings

__all__ = ["detect_anomaly", "set_detect_anomaly"]


class detect_anomaly:
    """Anomaly mode for the block (``is_anomaly_enabled()`` reads it); ember's backward errors
    already name the failing op, so it changes nothing else."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        self._prev = None

    def __enter__(self):
        self._prev = (_settings.is_anomaly_enabled(), _settings.is_anomaly_check_nan_enabled())
        _settings.set_anomaly_enabled(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        _settings.set_anomaly_enabled(*self._prev)
        return False

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)

        return wrapped


class set_detect_anomaly:
    """Set the anomaly mode now, as a call; as a context manager, restore it on exit."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.mode = mode
        self._prev = (_settings.is_anomaly_enabled(), _settings.is_anomaly_check_nan_enabled())
        _settings.set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _settings.set_anomaly_enabled(*self._prev)
        return False
