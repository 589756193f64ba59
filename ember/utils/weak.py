"""torch.utils.weak: weak references and weak-keyed dictionaries that compare keys by identity,
so tensors (whose ``==`` is elementwise) can be keys."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from ..tensor import Tensor

__all__ = [
    "TensorWeakRef",
    "WeakIdKeyDictionary",
    "WeakIdRef",
    "WeakRef",
    "WeakTensorKeyDictionary",
]

WeakRef = weakref.ref


class WeakIdRef(weakref.ref):
    """A weak reference hashed by the referent's ``id`` and equal to another only when both point
    at the same live object (or, once dead, only to itself)."""

    __slots__ = ("_id",)

    def __new__(cls, key: Any, callback: Callable | None = None) -> WeakIdRef:
        ref = super().__new__(cls, key, callback)
        ref._id = id(key)
        return ref

    def __init__(self, key: Any, callback: Callable | None = None) -> None:
        super().__init__(key, callback)

    def __hash__(self) -> int:
        return self._id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WeakIdRef):
            return NotImplemented
        a, b = self(), other()
        if a is not None and b is not None:
            return a is b
        return self is other

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq


class WeakIdKeyDictionary(MutableMapping):
    """A mapping whose keys are held weakly and matched by identity; an entry goes when its key
    is collected. ``ref_type`` makes the key references (``WeakIdRef`` by default)."""

    def __init__(self, dict: Mapping | Iterable | None = None, ref_type: type = WeakIdRef) -> None:  # noqa: A002 - torch's keyword
        self.data: dict[WeakIdRef, Any] = {}
        self.ref_type = ref_type
        self_ref = weakref.ref(self)

        def remove(ref: WeakIdRef) -> None:
            owner = self_ref()
            if owner is not None:
                owner.data.pop(ref, None)

        self._remove = remove
        if dict is not None:
            self.update(dict)

    def __getitem__(self, key: Any) -> Any:
        return self.data[self.ref_type(key)]

    def __setitem__(self, key: Any, value: Any) -> None:
        self.data[self.ref_type(key, self._remove)] = value

    def __delitem__(self, key: Any) -> None:
        del self.data[self.ref_type(key)]

    def __contains__(self, key: object) -> bool:
        try:
            ref = self.ref_type(key)
        except TypeError:  # not weakly referenceable: never a key
            return False
        return ref in self.data

    def __len__(self) -> int:
        return sum(ref() is not None for ref in list(self.data))

    def __iter__(self) -> Iterator[Any]:
        for ref in list(self.data):  # a snapshot: collection may remove entries meanwhile
            obj = ref()
            if obj is not None:
                yield obj

    def items(self) -> Iterator[tuple[Any, Any]]:  # type: ignore[override]
        """The live (key, value) pairs."""
        for ref, value in list(self.data.items()):
            obj = ref()
            if obj is not None:
                yield obj, value

    def keyrefs(self) -> list[WeakIdRef]:
        """The weak references to the keys."""
        return list(self.data)

    def copy(self) -> WeakIdKeyDictionary:
        """A shallow copy holding the same keys weakly."""
        return type(self)(self.items(), ref_type=self.ref_type)

    __copy__ = copy

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x}>"


WeakTensorKeyDictionary = WeakIdKeyDictionary


class TensorWeakRef:
    """A weak reference to a tensor: call it for the tensor, or None once it is collected."""

    __slots__ = ("ref",)

    def __init__(self, tensor: Tensor) -> None:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"expected a Tensor, got {type(tensor).__name__}")
        self.ref = weakref.ref(tensor)

    def __call__(self) -> Tensor | None:
        return self.ref()
