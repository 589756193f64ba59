"""torch.onnx's OperatorExportTypes and TrainingMode enums."""

from __future__ import annotations

import enum


class OperatorExportTypes(enum.IntEnum):
    """How operators are exported; ember writes standard ONNX operators only (``ONNX``)."""

    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


class TrainingMode(enum.IntEnum):
    """The mode the model is exported in: EVAL (the default) puts it in eval mode for the
    export and restores it after, PRESERVE keeps its mode."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2
