"""SummaryWriter: TensorBoard event files for ember programs, written through tensorboardX.

tensorboardX (``pip install 'ember[tensorboard]'``) does the file format; this wrapper turns ember
tensors into NumPy values before they reach it, so no PyTorch is needed or imported.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np

from ...tensor import Tensor

__all__ = ["SummaryWriter"]

_INSTALL_HINT = (
    "ember.utils.tensorboard needs the tensorboardX package: pip install 'ember[tensorboard]' "
    "(or pip install tensorboardX)"
)


def _tensorboardx() -> ModuleType:
    """Import tensorboardX without letting it import PyTorch (it only needs NumPy here)."""
    loaded = sys.modules.get("tensorboardX")
    if loaded is not None:
        return loaded
    blocked = "torch" not in sys.modules
    if blocked:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        import tensorboardX  # optional dependency: only SummaryWriter needs it
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    finally:
        if blocked and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return tensorboardX


def _to_numpy(value: Any) -> Any:
    """Ember tensors (and lists of them) as NumPy arrays; anything else unchanged."""
    if isinstance(value, Tensor):
        return np.asarray(value.detach().cpu().numpy())
    if isinstance(value, list | tuple) and value and isinstance(value[0], Tensor):
        return np.stack([_to_numpy(v) for v in value])
    return value


def _to_scalar(value: Any) -> float:
    """A Python number from a 0-d/1-element tensor, NumPy scalar or number."""
    value = _to_numpy(value)
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"a scalar needs exactly one element, got shape {value.shape}")
        return value.reshape(()).item()
    if isinstance(value, np.generic):
        return value.item()
    return value


class SummaryWriter:
    """Writes scalars, histograms, text, images, ... to a TensorBoard log directory."""

    def __init__(
        self,
        log_dir: str | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        tbx = _tensorboardx()
        self._writer = tbx.SummaryWriter(
            logdir=log_dir,
            comment=comment,
            purge_step=purge_step,
            max_queue=max_queue,
            flush_secs=flush_secs,
            filename_suffix=filename_suffix,
        )
        self.log_dir: str = self._writer.logdir

    def get_logdir(self) -> str:
        """The directory the event files go to."""
        return self.log_dir

    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        new_style: bool = False,
    ) -> None:
        """Record one number under ``tag`` at ``global_step``."""
        self._writer.add_scalar(tag, _to_scalar(scalar_value), _step(global_step), walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: Mapping[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Record several numbers that TensorBoard draws in one chart."""
        values = {k: _to_scalar(v) for k, v in tag_scalar_dict.items()}
        self._writer.add_scalars(main_tag, values, _step(global_step), walltime)

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: int | None = None,
        bins: str = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """Record the distribution of ``values`` (a tensor or array) as a histogram."""
        arr = np.asarray(_to_numpy(values), dtype=np.float64)
        self._writer.add_histogram(tag, arr, _step(global_step), bins, walltime, max_bins)

    def add_text(
        self,
        tag: str,
        text_string: str,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Record a piece of (Markdown) text."""
        self._writer.add_text(tag, text_string, _step(global_step), walltime)

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """Record an image given as a CHW (or ``dataformats``) tensor or array."""
        self._writer.add_image(
            tag, _to_numpy(img_tensor), _step(global_step), walltime, dataformats=dataformats
        )

    def add_hparams(
        self,
        hparam_dict: Mapping[str, Any],
        metric_dict: Mapping[str, Any],
        hparam_domain_discrete: Mapping[str, list] | None = None,
        run_name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """Record a set of hyperparameters and the metrics they reached."""
        hp = {k: _to_scalar(v) for k, v in hparam_dict.items()}
        metrics = {k: _to_scalar(v) for k, v in metric_dict.items()}
        self._writer.add_hparams(
            hp, metrics, hparam_domain_discrete, run_name, global_step=_step(global_step)
        )

    def flush(self) -> None:
        """Write buffered events to disk now."""
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self._writer.close()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        """Other tensorboardX methods, with tensor arguments turned into arrays."""
        if name.startswith("_"):
            raise AttributeError(name)
        target = getattr(self._writer, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            args = tuple(_to_numpy(a) for a in args)
            kwargs = {k: _to_numpy(v) for k, v in kwargs.items()}
            return target(*args, **kwargs)

        return call


def _step(step: Any) -> int | None:
    """A global step as a Python int (tensors and NumPy ints allowed)."""
    return None if step is None else int(_to_scalar(step))
