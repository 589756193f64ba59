"""The protobuf wire format of ONNX's messages, written by hand so export needs no onnx package.

Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
TensorProto, ValueInfoProto, TypeProto, OperatorSetIdProto). Repeated scalar fields that the
proto2 file does not mark ``packed`` are written one key per element, as protobuf's own writers
do for proto2; every conforming reader accepts that form.
"""

from __future__ import annotations

import struct

import numpy as np

# TensorProto.DataType values, by NumPy dtype name (bfloat16 is ml_dtypes' name)
DTYPES = {
    "float32": 1,
    "uint8": 2,
    "int8": 3,
    "uint16": 4,
    "int16": 5,
    "int32": 6,
    "int64": 7,
    "bool": 9,
    "float16": 10,
    "float64": 11,
    "uint32": 12,
    "uint64": 13,
    "complex64": 14,
    "complex128": 15,
    "bfloat16": 16,
}

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5

# AttributeProto.AttributeType
_A_FLOAT, _A_INT, _A_STRING, _A_TENSOR, _A_FLOATS, _A_INTS, _A_STRINGS = 1, 2, 3, 4, 6, 7, 8


def elem_type(dtype) -> int:
    """The TensorProto data type of a NumPy dtype."""
    code = DTYPES.get(np.dtype(dtype).name)
    if code is None:
        raise TypeError(f"ONNX has no tensor type for dtype {np.dtype(dtype).name}")
    return code


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # int64 negatives are their 64-bit two's complement, 10 bytes
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _key(num: int, wire: int) -> bytes:
    return _varint((num << 3) | wire)


def f_int(num: int, value: int) -> bytes:
    return _key(num, _VARINT) + _varint(int(value))


def f_float(num: int, value: float) -> bytes:
    return _key(num, _FIXED32) + struct.pack("<f", float(value))


def f_bytes(num: int, data: bytes | str) -> bytes:
    if isinstance(data, str):
        data = data.encode()
    return _key(num, _BYTES) + _varint(len(data)) + data


def tensor(name: str, array: np.ndarray) -> bytes:
    """A TensorProto holding ``array`` as little-endian raw data."""
    a = np.ascontiguousarray(array)
    out = b"".join(f_int(1, d) for d in a.shape)
    out += f_int(2, elem_type(a.dtype)) + f_bytes(8, name)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return out + f_bytes(9, a.tobytes())


def attribute(name: str, value) -> bytes:
    """An AttributeProto; the type follows the Python value (int, float, str, bytes, ndarray,
    or a list/tuple of ints, floats or strings)."""
    out = f_bytes(1, name)
    if isinstance(value, (bool, int, np.integer)):
        return out + f_int(20, _A_INT) + f_int(3, int(value))
    if isinstance(value, (float, np.floating)):
        return out + f_int(20, _A_FLOAT) + f_float(2, value)
    if isinstance(value, (str, bytes)):
        return out + f_int(20, _A_STRING) + f_bytes(4, value)
    if isinstance(value, np.ndarray):
        return out + f_int(20, _A_TENSOR) + f_bytes(5, tensor("", value))
    items = list(value)
    if all(isinstance(v, (bool, int, np.integer)) for v in items):
        return out + f_int(20, _A_INTS) + b"".join(f_int(8, int(v)) for v in items)
    if all(isinstance(v, (str, bytes)) for v in items):
        return out + f_int(20, _A_STRINGS) + b"".join(f_bytes(9, v) for v in items)
    return out + f_int(20, _A_FLOATS) + b"".join(f_float(7, v) for v in items)


def node(op_type: str, inputs, outputs, name: str = "", attrs: dict | None = None) -> bytes:
    """A NodeProto of the default (ai.onnx) domain; an empty input name is an omitted input."""
    out = b"".join(f_bytes(1, i) for i in inputs) + b"".join(f_bytes(2, o) for o in outputs)
    if name:
        out += f_bytes(3, name)
    out += f_bytes(4, op_type)
    for k, v in (attrs or {}).items():
        out += f_bytes(5, attribute(k, v))
    return out


def value_info(name: str, dtype, shape) -> bytes:
    """A ValueInfoProto of a tensor; a shape entry is an int (dim_value) or a str (dim_param)."""
    dims = b"".join(f_bytes(1, f_bytes(2, d) if isinstance(d, str) else f_int(1, d)) for d in shape)
    tensor_type = f_int(1, elem_type(dtype)) + f_bytes(2, dims)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def graph(name: str, nodes, initializers, inputs, outputs, value_infos=()) -> bytes:
    """A GraphProto from already-encoded nodes, initializers (TensorProtos) and value infos."""
    out = b"".join(f_bytes(1, n) for n in nodes) + f_bytes(2, name)
    out += b"".join(f_bytes(5, t) for t in initializers)
    out += b"".join(f_bytes(11, v) for v in inputs) + b"".join(f_bytes(12, v) for v in outputs)
    return out + b"".join(f_bytes(13, v) for v in value_infos)


def model(graph_bytes: bytes, opset: int, ir_version: int, producer: str, version: str) -> bytes:
    """A ModelProto importing the default domain at ``opset``."""
    opset_id = f_bytes(1, "") + f_int(2, opset)
    out = f_int(1, ir_version) + f_bytes(2, producer) + f_bytes(3, version)
    return out + f_bytes(7, graph_bytes) + f_bytes(8, opset_id)
