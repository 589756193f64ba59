"""torch.onnx: export a model to ONNX (``export``), with torch.onnx's enums and errors.

The exporter records one run of the model through ember's op dispatch and writes the ONNX
protobuf itself, so it needs no onnx package; see ``export`` for what it supports.
"""

from __future__ import annotations

from . import errors
from ._enums import OperatorExportTypes, TrainingMode
from ._export import export, is_in_onnx_export
from .errors import OnnxExporterError

__all__ = [
    "OnnxExporterError",
    "OperatorExportTypes",
    "TrainingMode",
    "errors",
    "export",
    "is_in_onnx_export",
]
