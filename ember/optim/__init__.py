"""ember.optim: optimizers and learning-rate schedulers, as ``torch.optim``."""

from __future__ import annotations

import importlib as _importlib

from .adam import Adam  # noqa: F401
from .adamw import AdamW  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .sgd import SGD  # noqa: F401

for _name, _cls in (
    ("rmsprop", "RMSprop"),
    ("adagrad", "Adagrad"),
    ("adadelta", "Adadelta"),
    ("adamax", "Adamax"),
    ("nadam", "NAdam"),
    ("radam", "RAdam"),
    ("lbfgs", "LBFGS"),
    ("rprop", "Rprop"),
):
    try:
        globals()[_cls] = getattr(_importlib.import_module(f".{_name}", __name__), _cls)
    except (ImportError, AttributeError):  # pragma: no cover - not written yet
        pass

from . import lr_scheduler, swa_utils  # noqa: E402,F401
