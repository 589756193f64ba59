"""dtype objects, torch's type-promotion rules, and the default floating dtype."""

from __future__ import annotations

import builtins

import numpy as np

try:  # bfloat16 and float8 need ml_dtypes (an optional extra); the rest is plain NumPy.
    import ml_dtypes

    _BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - exercised only without the extra
    ml_dtypes = None
    _BF16 = None


def _ml(name: str):
    """The NumPy dtype ml_dtypes gives ``name``, or None (no ml_dtypes, or an older one)."""
    t = getattr(ml_dtypes, name, None)
    return None if t is None else np.dtype(t)


# categories, in promotion order
_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3
# what ``is_signed`` answers for the dtypes torch refuses it for (their ``_signed``)
_BITS_SIGN, _QUANT_SIGN = "bits", "quantized"


class dtype:
    """A tensor element type, as ``torch.dtype`` (``ember.float32``, ``ember.int64``, ...)."""

    __slots__ = (
        "name",
        "_np",
        "itemsize",
        "is_floating_point",
        "is_complex",
        "_signed",
        "_cat",
        "_kind",
        "__weakref__",
    )

    def __init__(
        self,
        name: str,
        np_dtype,
        itemsize: int,
        cat: int,
        signed: bool | str,
        kind: str = "",
    ):
        self.name = name
        self._np = np_dtype
        self.itemsize = itemsize
        self._cat = cat
        self.is_floating_point = cat == _FLOAT
        self.is_complex = cat == _COMPLEX
        self._signed = signed
        # "" for the dtypes ember computes with; "float8", "sub-byte", "bits", "quantized",
        # "float4" or "complex32" for those it only holds or only names
        self._kind = kind

    @property
    def is_signed(self) -> bool:
        """Whether the type holds negative values; torch raises for bits and quantized types."""
        s = self._signed
        if s is _BITS_SIGN:
            raise RuntimeError("Bits types are undefined")
        if s is _QUANT_SIGN:
            raise RuntimeError("isSignedType not supported for quantized types")
        return s

    @property
    def np(self) -> np.dtype:
        if self._np is None:
            if self._kind in ("", "float8"):
                raise TypeError(f"{self!r} needs the ml_dtypes package: pip install 'ember[bf16]'")
            raise TypeError(f"ember cannot hold tensors of dtype {self!r}")
        return self._np

    def to_complex(self) -> dtype:
        """The complex dtype of this floating dtype, as torch (float16 -> complex32)."""
        c = _TO_COMPLEX.get(self)
        if c is None:
            raise RuntimeError(f"Unknown Complex ScalarType for {scalar_type_name(self.name)}")
        return c

    def to_real(self) -> dtype:
        """The real dtype of this complex dtype; any other dtype is returned as it is."""
        return _TO_REAL.get(self, self)

    def _compute_complex(self) -> dtype:
        # the complex dtype ember computes in: complex32 (ComplexHalf) has no NumPy type,
        # so float16 and bfloat16 promote to complex64
        return complex128 if self is float64 or self is complex128 else complex64

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))


def _dtype_by_name(name: str) -> dtype:
    return globals()[name]


bool_ = dtype("bool", np.dtype(np.bool_), 1, _BOOL, False)
uint8 = dtype("uint8", np.dtype(np.uint8), 1, _INT, False)
int8 = dtype("int8", np.dtype(np.int8), 1, _INT, True)
int16 = dtype("int16", np.dtype(np.int16), 2, _INT, True)
int32 = dtype("int32", np.dtype(np.int32), 4, _INT, True)
int64 = dtype("int64", np.dtype(np.int64), 8, _INT, True)
uint16 = dtype("uint16", np.dtype(np.uint16), 2, _INT, False)
uint32 = dtype("uint32", np.dtype(np.uint32), 4, _INT, False)
uint64 = dtype("uint64", np.dtype(np.uint64), 8, _INT, False)
float16 = dtype("float16", np.dtype(np.float16), 2, _FLOAT, True)
bfloat16 = dtype("bfloat16", _BF16, 2, _FLOAT, True)
float32 = dtype("float32", np.dtype(np.float32), 4, _FLOAT, True)
float64 = dtype("float64", np.dtype(np.float64), 8, _FLOAT, True)
complex32 = dtype("complex32", None, 4, _COMPLEX, True, "complex32")
complex64 = dtype("complex64", np.dtype(np.complex64), 8, _COMPLEX, True)
complex128 = dtype("complex128", np.dtype(np.complex128), 16, _COMPLEX, True)
bool_.name = "bool"
globals()["bool"] = bool_  # the torch name shadows the builtin only inside this namespace

# float8: held (created, converted, copied, printed, saved) through ml_dtypes; torch computes
# with them hardly at all, and neither does ember
float8_e4m3fn = dtype("float8_e4m3fn", _ml("float8_e4m3fn"), 1, _FLOAT, True, "float8")
float8_e5m2 = dtype("float8_e5m2", _ml("float8_e5m2"), 1, _FLOAT, True, "float8")
float8_e4m3fnuz = dtype("float8_e4m3fnuz", _ml("float8_e4m3fnuz"), 1, _FLOAT, True, "float8")
float8_e5m2fnuz = dtype("float8_e5m2fnuz", _ml("float8_e5m2fnuz"), 1, _FLOAT, True, "float8")
float8_e8m0fnu = dtype("float8_e8m0fnu", _ml("float8_e8m0fnu"), 1, _FLOAT, False, "float8")
FLOAT8 = (float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e8m0fnu)
# their NumPy dtypes (those ml_dtypes has): arrays ember holds but does not compute with
FLOAT8_NP = frozenset(d._np for d in FLOAT8 if d._np is not None)
# two float4 values packed in a byte: ml_dtypes's float4_e2m1fn holds one, so no NumPy type
float4_e2m1fn_x2 = dtype("float4_e2m1fn_x2", None, 1, _FLOAT, True, "float4")
# the dtypes torch only names: sub-byte integers, raw bits, quantized integers
uint1 = dtype("uint1", None, 1, _INT, False, "sub-byte")
uint2 = dtype("uint2", None, 1, _INT, False, "sub-byte")
uint3 = dtype("uint3", None, 1, _INT, False, "sub-byte")
uint4 = dtype("uint4", None, 1, _INT, False, "sub-byte")
uint5 = dtype("uint5", None, 1, _INT, False, "sub-byte")
uint6 = dtype("uint6", None, 1, _INT, False, "sub-byte")
uint7 = dtype("uint7", None, 1, _INT, False, "sub-byte")
int1 = dtype("int1", None, 1, _INT, True, "sub-byte")
int2 = dtype("int2", None, 1, _INT, True, "sub-byte")
int3 = dtype("int3", None, 1, _INT, True, "sub-byte")
int4 = dtype("int4", None, 1, _INT, True, "sub-byte")
int5 = dtype("int5", None, 1, _INT, True, "sub-byte")
int6 = dtype("int6", None, 1, _INT, True, "sub-byte")
int7 = dtype("int7", None, 1, _INT, True, "sub-byte")
bits1x8 = dtype("bits1x8", None, 1, _INT, _BITS_SIGN, "bits")
bits2x4 = dtype("bits2x4", None, 1, _INT, _BITS_SIGN, "bits")
bits4x2 = dtype("bits4x2", None, 1, _INT, _BITS_SIGN, "bits")
bits8 = dtype("bits8", None, 1, _INT, _BITS_SIGN, "bits")
bits16 = dtype("bits16", None, 2, _INT, _BITS_SIGN, "bits")
qint8 = dtype("qint8", None, 1, _INT, _QUANT_SIGN, "quantized")
quint8 = dtype("quint8", None, 1, _INT, _QUANT_SIGN, "quantized")
qint32 = dtype("qint32", None, 4, _INT, _QUANT_SIGN, "quantized")
quint4x2 = dtype("quint4x2", None, 1, _INT, _QUANT_SIGN, "quantized")
quint2x4 = dtype("quint2x4", None, 1, _INT, _QUANT_SIGN, "quantized")

ALL = (
    bool_,
    uint8,
    int8,
    int16,
    int32,
    int64,
    uint16,
    uint32,
    uint64,
    float16,
    bfloat16,
    float32,
    float64,
    complex64,
    complex128,
)

# the torch aliases
half = float16
float = float32  # noqa: A001
double = float64
cfloat = complex64
cdouble = complex128
chalf = complex32
bit = uint1
short = int16
int = int32  # noqa: A001
long = int64

_TO_COMPLEX = {
    float16: complex32,
    bfloat16: complex64,
    float32: complex64,
    float64: complex128,
    complex32: complex32,
    complex64: complex64,
    complex128: complex128,
}
_TO_REAL = {complex32: float16, complex64: float32, complex128: float64}

_FROM_NP: dict = {d._np: d for d in ALL + FLOAT8 if d._np is not None}
_FROM_NP[np.dtype(np.longlong)] = int64  # alias on some platforms

_default = float32


def from_numpy_dtype(npd) -> dtype:
    """The ember dtype of a NumPy dtype; raises TypeError for unsupported ones (object, str)."""
    d = _FROM_NP.get(npd)
    if d is None:
        d = _FROM_NP.get(np.dtype(npd))
        if d is None:
            raise TypeError(
                f"can't convert np.ndarray of type {np.dtype(npd)}. The only supported types are: "
                "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
                "uint64, uint32, uint16, uint8, and bool."
            )
    return d


def to_dtype(d) -> dtype:
    """Accept an ember dtype, a NumPy dtype, a Python type or a torch dtype name."""
    if isinstance(d, dtype):
        return d
    if d is builtins_float:  # as torch: dtype=float means float64
        return float64
    if d is builtins_int:
        return int64
    if d is builtins_bool:
        return bool_
    if d is builtins_complex:
        return complex128
    name = getattr(d, "name", None) if not isinstance(d, str) else d
    if isinstance(name, str) and type(d).__module__.startswith("torch"):
        return globals()[name]
    try:
        return from_numpy_dtype(np.dtype(d))
    except TypeError:
        raise TypeError(f"cannot interpret {d!r} as a data type") from None


# the Python types, before this module's dtype names ``float``, ``int``, ... shadow them
builtins_float, builtins_int = builtins.float, builtins.int
builtins_bool, builtins_complex = builtins.bool, builtins.complex


def get_default_dtype() -> dtype:
    """The dtype Python floats and float constructors use (float32 unless changed)."""
    return _default


def set_default_dtype(d) -> None:
    """Set the default floating dtype (float32 or float64, as torch; float16/bfloat16 allowed)."""
    global _default
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default = d


# --- promotion -------------------------------------------------------------------------------

_PROMOTE_CACHE: dict = {}


def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types: the smallest dtype both ``a`` and ``b`` convert to safely."""
    if a is b:
        return a
    key = (a, b)
    r = _PROMOTE_CACHE.get(key)
    if r is None:
        r = _PROMOTE_CACHE[key] = _promote(a, b)
    return r


def _promote(a: dtype, b: dtype) -> dtype:
    if a._kind or b._kind:
        r = _promote_exotic(a, b)
        if r is not None:
            return r
    if a._cat < b._cat:
        a, b = b, a  # a is of the higher category
    if b is bool_:
        return a
    if a._cat == _INT:  # two integer types
        if a.is_signed == b.is_signed:
            if not a.is_signed and (a.itemsize > 1 or b.itemsize > 1):
                return a if a.itemsize >= b.itemsize else b
            return a if a.itemsize >= b.itemsize else b
        s, u = (a, b) if a.is_signed else (b, a)
        if u.itemsize > 1:
            return _promote_wide_unsigned(a, b)
        return s if s.itemsize > 1 else int16
    if a._cat == _FLOAT:
        if b._cat == _INT:
            return a
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize >= b.itemsize else b
    # a is complex
    if b._cat == _COMPLEX:
        return a if a.itemsize >= b.itemsize else b
    if b._cat == _FLOAT and b.itemsize > a.itemsize // 2:
        return b._compute_complex()
    return a


def _promote_exotic(a: dtype, b: dtype) -> dtype | None:
    """torch's refusals to promote float8, quantized, bits and sub-byte types with another
    dtype; None where the ordinary rules apply (complex32 with a wider type)."""
    an, bn = scalar_type_name(a.name), scalar_type_name(b.name)
    kinds = (a._kind, b._kind)
    if "quantized" in kinds:
        raise RuntimeError(
            "promoteTypes with quantized numbers is not handled yet; figure out what the "
            f"correct rules should be, offending types: {an} {bn}"
        )
    if "float8" in kinds:
        raise RuntimeError(
            f"Promotion for Float8 Types is not supported, attempted to promote {an} and {bn}"
        )
    if "bits" in kinds:
        raise RuntimeError(f"Promotion from {an} and {bn} is unsupported.")
    for u, o in ((a, b), (b, a)):  # torch: an unsigned sub-byte type goes to a float type
        if u._kind == "sub-byte" and not u._signed and o._cat == _FLOAT and not o._kind:
            return o
    for u in (a, b):  # as torch words it for the wide unsigned types
        if u._kind == "sub-byte" and not u._signed:
            raise RuntimeError(
                "Promotion for uint16, uint32, uint64 types is not supported, "
                f"attempted to promote {an} and {bn}"
            )
    if "sub-byte" in kinds or "float4" in kinds:
        raise RuntimeError(f"Promotion for {an} and {bn} is not supported")
    return None


def _promote_wide_unsigned(a: dtype, b: dtype) -> dtype:
    # torch refuses to promote uint16/32/64 with signed ints; keep to the float/same-type cases
    if a._cat >= _FLOAT or b._cat >= _FLOAT:
        return (
            from_numpy_dtype(np.promote_types(a._np, b._np))
            if a._cat != b._cat
            else (a if a.itemsize >= b.itemsize else b)
        )
    if a is bool_:
        return b
    if b is bool_:
        return a
    if a.is_signed != b.is_signed:
        raise TypeError(
            f"Promotion for uint16, uint32, uint64 types is not supported, "
            f"attempted to promote {a.name.capitalize()} and {b.name.capitalize()}"
        )
    return a if a.itemsize >= b.itemsize else b


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher._cat == _COMPLEX:
        return higher
    if lower._cat == _COMPLEX:
        if higher._cat == _FLOAT:
            return higher._compute_complex()
        return lower
    if higher._cat == _FLOAT:
        return higher
    if higher is bool_ or lower._cat == _FLOAT:
        return promote_types(higher, lower)
    return higher


def scalar_dtype(v) -> dtype:
    """The dtype a Python scalar takes when it meets a tensor (a 'wrapped number')."""
    t = type(v)
    if t is builtins.float:
        return _default
    if t is builtins.bool:
        return bool_
    if t is builtins.int:
        return int64
    if t is builtins.complex:
        return complex64 if _default is not float64 else complex128
    if isinstance(v, np.generic):
        return from_numpy_dtype(v.dtype)
    raise TypeError(f"unsupported scalar type {t.__name__}")


def result_type_parts(
    dim_dt: dtype | None, zero_dt: dtype | None, wrapped_dt: dtype | None
) -> dtype:
    """torch's result_type from the promoted dtypes of dimensioned tensors, 0-d tensors and
    Python scalars, each considered only when it is of a higher category than the ones before."""
    return _combine(dim_dt, _combine(zero_dt, wrapped_dt))


def _accumulate(cur: dtype | None, d: dtype) -> dtype:
    return d if cur is None else promote_types(cur, d)


def finfo_np(d: dtype):
    return np.finfo(d.np)


# torch's finfo of the float8 types as (eps, max, min, tiny): torch gives them all resolution 1
# (one decimal digit) and, for float8_e5m2fnuz, an eps of 2**-3 (not ml_dtypes's 2**-2)
_FLOAT8_FINFO = {
    "float8_e4m3fn": (2.0**-3, 448.0, -448.0, 2.0**-6),
    "float8_e5m2": (2.0**-2, 57344.0, -57344.0, 2.0**-14),
    "float8_e4m3fnuz": (2.0**-3, 240.0, -240.0, 2.0**-7),
    "float8_e5m2fnuz": (2.0**-3, 57344.0, -57344.0, 2.0**-15),
    "float8_e8m0fnu": (1.0, 2.0**127, 2.0**-127, 2.0**-127),
}


class finfo:
    """torch.finfo: machine limits of a floating dtype (float8 ones included)."""

    def __init__(self, type: dtype | None = None):  # noqa: A002
        d = _default if type is None else to_dtype(type)
        if not (d.is_floating_point or d.is_complex) or d is float4_e2m1fn_x2:
            raise TypeError(f"torch.finfo() requires a floating point input type, got {d!r}")
        if d.is_complex:
            d = d.to_real()
        self.dtype = d.name
        self.bits = d.itemsize * 8
        f8 = _FLOAT8_FINFO.get(d.name)
        if f8 is not None:
            self.eps, self.max, self.min, self.tiny = f8
            self.smallest_normal = self.tiny
            self.resolution = 1.0
            return
        fi = ml_dtypes.finfo(d.np) if d is bfloat16 else np.finfo(d.np)
        self.eps = builtins.float(fi.eps)
        self.max = builtins.float(fi.max)
        self.min = builtins.float(fi.min)
        self.tiny = builtins.float(fi.tiny)
        self.smallest_normal = self.tiny
        self.resolution = 10.0 ** -builtins.int(fi.precision)

    def __repr__(self) -> str:
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )


_QUANT_HOLDS = {"qint8": np.int8, "quint8": np.uint8, "qint32": np.int32}
_QUANT_HOLDS.update(quint4x2=np.uint8, quint2x4=np.uint8)


class iinfo:
    """torch.iinfo: limits of an integer dtype."""

    def __init__(self, type: dtype):  # noqa: A002
        d = to_dtype(type)
        if d._cat != _INT or (d._kind and d._kind != "quantized"):
            raise TypeError(
                "torch.bool is not supported by torch.iinfo"
                if d is bool_
                else "torch.iinfo() requires an integer input type. Use torch.finfo to handle "
                "'torch.iinfo'"
                if d._kind
                else f"torch.iinfo() requires an integer input type, got {d!r}"
            )
        # quantized types: the limits of the integers they hold (torch's iinfo reads them)
        ii = np.iinfo(_QUANT_HOLDS.get(d.name) or d.np)
        self.dtype = d.name
        self.bits = d.itemsize * 8
        self.max = builtins.int(ii.max)
        self.min = builtins.int(ii.min)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def can_cast(from_: dtype, to: dtype) -> bool:
    """Whether torch's casting rules allow an in-place result of ``from_`` into ``to``."""
    return to_dtype(from_)._cat <= to_dtype(to)._cat


class _Named:
    """A named constant (layouts and memory formats) with torch's repr."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))


layout = _Named
strided = _Named("strided")
sparse_coo = _Named("sparse_coo")
sparse_csr = _Named("sparse_csr")
sparse_csc = _Named("sparse_csc")
sparse_bsr = _Named("sparse_bsr")
sparse_bsc = _Named("sparse_bsc")
memory_format = _Named
contiguous_format = _Named("contiguous_format")
channels_last = _Named("channels_last")
channels_last_3d = _Named("channels_last_3d")
preserve_format = _Named("preserve_format")


# torch's names for dtypes in its error messages, by NumPy dtype name: its ScalarType names
# ("expected scalar type Long but found Float") and its C++ type names ("Input type (float)")
_SCALAR_TYPE_NAME = {
    "bool": "Bool",
    "uint8": "Byte",
    "int8": "Char",
    "int16": "Short",
    "int32": "Int",
    "int64": "Long",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "uint64": "UInt64",
    "float16": "Half",
    "bfloat16": "BFloat16",
    "float32": "Float",
    "float64": "Double",
    "complex64": "ComplexFloat",
    "complex128": "ComplexDouble",
    "complex32": "ComplexHalf",
    "float8_e4m3fn": "Float8_e4m3fn",
    "float8_e5m2": "Float8_e5m2",
    "float8_e4m3fnuz": "Float8_e4m3fnuz",
    "float8_e5m2fnuz": "Float8_e5m2fnuz",
    "float8_e8m0fnu": "Float8_e8m0fnu",
    "float4_e2m1fn_x2": "Float4_e2m1fn_x2",
    **{f"uint{i}": f"UInt{i}" for i in range(1, 8)},
    **{f"int{i}": f"Int{i}" for i in range(1, 8)},
    "bits1x8": "Bits1x8",
    "bits2x4": "Bits2x4",
    "bits4x2": "Bits4x2",
    "bits8": "Bits8",
    "bits16": "Bits16",
    "qint8": "QInt8",
    "quint8": "QUInt8",
    "qint32": "QInt32",
    "quint4x2": "QUInt4x2",
    "quint2x4": "QUInt2x4",
}
_CPP_TYPE_NAME = {
    "float32": "float",
    "float64": "double",
    "float16": "c10::Half",
    "bfloat16": "c10::BFloat16",
    "int64": "long int",
    "int32": "int",
    "int16": "short int",
    "int8": "signed char",
    "uint8": "unsigned char",
    "bool": "bool",
}


def scalar_type_name(name: str) -> str:
    """torch's ScalarType name ("Long", "Float", ...) of a NumPy dtype name; others as given."""
    return _SCALAR_TYPE_NAME.get(name, name)


def cpp_type_name(name: str) -> str:
    """torch's C++ type name ("float", "long int", ...) of a NumPy dtype name; others as
    given."""
    return _CPP_TYPE_NAME.get(name, name)
