"""ember.utils.tensorboard: ``SummaryWriter`` for TensorBoard logs, as ``torch.utils.tensorboard``.

Needs the optional tensorboardX package (``pip install 'ember[tensorboard]'``); importing this
module without it raises an ImportError that says so.
"""

from __future__ import annotations

from .writer import SummaryWriter, _tensorboardx

_tensorboardx()  # fail at import time, as torch does, when the backend package is missing

__all__ = ["SummaryWriter"]
