"""torch.signal.windows: window functions with scipy-like ``sym=`` (the code lives in
ember/ops/window.py)."""

from ...ops.window import signal_bartlett as bartlett
from ...ops.window import signal_blackman as blackman
from ...ops.window import signal_cosine as cosine
from ...ops.window import signal_exponential as exponential
from ...ops.window import signal_gaussian as gaussian
from ...ops.window import signal_general_cosine as general_cosine
from ...ops.window import signal_general_hamming as general_hamming
from ...ops.window import signal_hamming as hamming
from ...ops.window import signal_hann as hann
from ...ops.window import signal_kaiser as kaiser
from ...ops.window import signal_nuttall as nuttall

__all__ = [
    "bartlett",
    "blackman",
    "cosine",
    "exponential",
    "gaussian",
    "general_cosine",
    "general_hamming",
    "hamming",
    "hann",
    "kaiser",
    "nuttall",
]
