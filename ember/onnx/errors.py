"""The exporter's errors, under torch.onnx.errors' names."""

from __future__ import annotations

__all__ = [
    "OnnxExporterError",
    "OnnxExporterWarning",
    "SymbolicValueError",
    "UnsupportedOperatorError",
]


class OnnxExporterWarning(UserWarning):
    """A warning of the ONNX exporter."""


class OnnxExporterError(RuntimeError):
    """An error of the ONNX exporter; the base of the others."""


class UnsupportedOperatorError(OnnxExporterError):
    """An operation the exporter cannot write at the requested opset (torch's message form)."""

    def __init__(self, name: str, version: int, supported_version: int | None) -> None:
        msg = f"Exporting the operator '{name}' to ONNX opset version {version} is not supported"
        if supported_version is not None:
            msg += (
                f". Support for this operator was added in version {supported_version}, "
                "try exporting with this version"
            )
        super().__init__(msg)


class SymbolicValueError(OnnxExporterError):
    """An error about one value of the graph being exported."""

    def __init__(self, msg: str, value: object = None) -> None:
        super().__init__(msg if value is None else f"{msg}  [Caused by the value '{value}']")
