"""Call a module with some parameters and buffers swapped for given tensors (as
torch.nn.utils.stateless); the module is left as it was afterwards."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["functional_call"]

_MISSING = object()


def _owner(module: Module, path: str) -> tuple[Module, str]:
    *prefix, leaf = path.split(".")
    m = module
    for i, part in enumerate(prefix):
        m = getattr(m, part)
        if not isinstance(m, Module):
            where = ".".join(prefix[: i + 1])
            raise TypeError(f"submodule `{where}`: {m} is not an instance of torch.nn.Module")
    return m, leaf


def _swap(m: Module, name: str, value: Any) -> Any:
    """Put ``value`` at ``m.<name>`` (any tensor, even where a Parameter lives); return what
    was there (``_MISSING`` when nothing)."""
    for reg in ("_parameters", "_buffers"):
        r = m.__dict__[reg]
        if name in r:
            old = r[name]
            dict.__setitem__(r, name, value)  # not through Module.__setattr__'s type checks
            m.__dict__[name] = value
            return old
    old = m.__dict__.get(name, _MISSING)
    m.__dict__[name] = value
    return old


def _restore(m: Module, name: str, old: Any) -> None:
    for reg in ("_parameters", "_buffers"):
        r = m.__dict__[reg]
        if name in r:
            dict.__setitem__(r, name, old)
            m.__dict__[name] = old
            return
    if old is _MISSING:
        m.__dict__.pop(name, None)
    else:
        m.__dict__[name] = old


@contextmanager
def _reparametrize(
    module: Module, tensors: dict[str, Tensor], tie_weights: bool, strict: bool
) -> Iterator[None]:
    named = list(module.named_parameters(remove_duplicate=False)) + list(
        module.named_buffers(remove_duplicate=False)
    )
    tensors = dict(tensors)
    if tie_weights:
        # a tensor shared under several names follows the one name that was given
        by_id: dict[int, list[str]] = {}
        for n, t in named:
            by_id.setdefault(id(t), []).append(n)
        for names in by_id.values():
            given = [n for n in names if n in tensors]
            if given:
                for n in names:
                    tensors.setdefault(n, tensors[given[0]])
    if strict:
        expected = [n for n, _ in named]
        missing = [n for n in expected if n not in tensors]
        unexpected = [n for n in tensors if n not in set(expected)]
        if missing or unexpected:
            msg = f"Error(s) in reparametrizing for {type(module).__name__}:"
            if unexpected:
                msg += "\n\tUnexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected) + "."
            if missing:
                msg += "\n\tMissing key(s): " + ", ".join(f"'{k}'" for k in missing) + "."
            raise RuntimeError(msg)
    done = []
    try:
        for path, value in tensors.items():
            m, leaf = _owner(module, path)
            done.append((m, leaf, _swap(m, leaf, value)))
        yield
    finally:
        for m, leaf, old in reversed(done):
            _restore(m, leaf, old)


def _functional_call(
    module: Module,
    parameter_and_buffer_dicts: Any,
    args: Any = None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    if isinstance(parameter_and_buffer_dicts, dict):
        merged = parameter_and_buffer_dicts
    else:
        merged = {}
        seen: set = set()
        for d in parameter_and_buffer_dicts:
            dup = sorted(seen & set(d))
            if dup:
                raise ValueError(
                    f"{dup} appeared in multiple dictionaries; behavior of functional call is "
                    "ambiguous"
                )
            seen |= set(d)
            merged.update(d)
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize(module, merged, tie_weights, strict):
        return module(*args, **kwargs)


def functional_call(
    module: Module,
    parameters_and_buffers: dict[str, Tensor],
    args: Any = None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Run ``module(*args, **kwargs)`` with the named tensors in place of its own.

    As torch 2.13 this name is deprecated (FutureWarning) in favour of
    ``torch.func.functional_call``.
    """
    warnings.warn(
        "`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be "
        "removed in a future version of PyTorch. Please use `torch.func.functional_call` "
        "instead which is a drop-in replacement.",
        FutureWarning,
        stacklevel=2,
    )
    return _functional_call(
        module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict
    )
