"""torch.types: the type aliases torch's signatures are written with, made of ember's classes.

``Number``, ``Device``, ``FileLike`` and the rest are unions to annotate with; ``_Number`` and
``py_sym_types`` are tuples for ``isinstance``. The underscored builtins (``_int``, ``_bool``,
...) exist because ``torch.int``/``torch.bool`` are dtypes. ``Storage`` is the shape a storage
class has (a description only: no storage derives from it, as in torch). ember has no
``DispatchKey`` or ``qscheme``, so ``_dispatchkey`` and ``_qscheme`` are absent.
"""

from __future__ import annotations

import os
from builtins import bool as _bool  # noqa: F401
from builtins import bytes as _bytes  # noqa: F401
from builtins import complex as _complex  # noqa: F401
from builtins import float as _float  # noqa: F401
from builtins import int as _int  # noqa: F401
from builtins import str as _str  # noqa: F401
from collections.abc import Sequence
from typing import IO, Any, Self, TypeAlias, Union

from ._sym import SymBool, SymFloat, SymInt
from ._torch_alias import module_getattr as _module_getattr
from .device import device as _device
from .dtypes import dtype as _dtype
from .dtypes import layout as _layout  # noqa: F401
from .tensor import Size, Tensor

__all__ = ["Number", "Device", "FileLike", "Storage"]

_TensorOrTensors: TypeAlias = Tensor | Sequence[Tensor]
_TensorOrOptionalTensors: TypeAlias = Tensor | Sequence[Tensor | None]
# ember has no autograd.graph.GradientEdge: the name stays a forward reference, as in torch
_TensorOrTensorsOrGradEdge: TypeAlias = Union[  # noqa: UP007
    Tensor, Sequence[Tensor], "GradientEdge", Sequence["GradientEdge"]  # noqa: F821
]

_size: TypeAlias = Size | list[int] | tuple[int, ...]
_symsize: TypeAlias = Size | Sequence[int | SymInt]

IntLikeType: TypeAlias = int | SymInt
FloatLikeType: TypeAlias = float | SymFloat
BoolLikeType: TypeAlias = bool | SymBool

py_sym_types = (SymInt, SymFloat, SymBool)
PySymType: TypeAlias = SymInt | SymFloat | SymBool

Number: TypeAlias = int | float | bool
_Number = (int, float, bool)  # for isinstance

FileLike: TypeAlias = str | os.PathLike[str] | IO[bytes]

# what a ``device=`` argument accepts; None means the default device
Device: TypeAlias = _device | str | int | None


class Storage:
    """The members a storage class offers (torch.types.Storage); a description, not a base."""

    _cdata: int
    device: _device
    dtype: _dtype
    _torch_load_uninitialized: bool

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        raise NotImplementedError

    def _new_shared(self, size: int) -> Self:
        raise NotImplementedError

    def _write_file(self, f: Any, is_real_file: bool, save_size: bool, element_size: int) -> None:
        raise NotImplementedError

    def element_size(self) -> int:
        raise NotImplementedError

    def is_shared(self) -> bool:
        raise NotImplementedError

    def share_memory_(self) -> Self:
        raise NotImplementedError

    def nbytes(self) -> int:
        raise NotImplementedError

    def cpu(self) -> Self:
        raise NotImplementedError

    def data_ptr(self) -> int:
        raise NotImplementedError

    def from_file(self, filename: str, shared: bool = False, nbytes: int = 0) -> Self:
        raise NotImplementedError

    def _new_with_file(self, f: Any, element_size: int) -> Self:
        raise NotImplementedError


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
