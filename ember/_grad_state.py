"""Grad-mode state (thread-local, as torch): whether ops record a graph in this thread.

It sits below ``tensor.py`` so that the Tensor, the autograd nodes and the engine read it at
module top; ``autograd/grad_mode.py`` holds the public switches (``no_grad``, ...) over it.
"""

from __future__ import annotations

import threading


class _GradState(threading.local):
    enabled = True  # class attributes give every new thread torch's defaults
    inference = False


state = _GradState()
