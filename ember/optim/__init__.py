"""ember.optim: optimizers and learning-rate schedulers, as ``torch.optim``."""

# ruff: noqa: F401  (a namespace: every import here is a re-export)
from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr
from . import lr_scheduler, swa_utils
from ._stateless import swap_in_optimizer_params_and_state
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .asgd import ASGD
from .lbfgs import LBFGS
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
