"""nn.Module: the base of every layer; registers parameters, buffers and submodules.

Registered members are also mirrored into the instance ``__dict__`` so that ``self.weight`` and
``self.fc1`` are plain attribute reads on the training hot path (torch resolves them through
``__getattr__``); the registries stay the source of truth and keep the mirror in sync.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from ...tensor import Tensor
from ..parameter import Buffer, Parameter
from . import _conversion as _cv
from . import _hook_methods as _hm
from . import _state_dict as _sd
from ._hooks import (  # noqa: F401
    RemovableHandle,
    _BackwardHookState,
    _global_hooks,
    _global_pre_hooks,
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from ._registry import _Registry, _registry
from ._state_dict import _IncompatibleKeys  # noqa: F401

__all__ = ["Module", "register_module_forward_pre_hook", "register_module_forward_hook"]


def _typename(v) -> str:
    if isinstance(v, Tensor):
        from ...autograd.engine import _legacy_type_name

        return _legacy_type_name(v)
    return (
        type(v).__module__ + "." + type(v).__qualname__
        if type(v).__module__ not in ("builtins",)
        else type(v).__name__
    )


def _addindent(s: str, n: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * n + ln for ln in lines[1:])


class Module:
    """Base class for all neural network modules, as ``torch.nn.Module``."""

    dump_patches = False
    _version = 1
    training: bool
    _hooks_on = False
    call_super_init = False

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                f"'{next(iter(kwargs))}'"
                if kwargs
                else f"{type(self).__name__}.__init__() takes 1 positional argument but "
                f"{len(args) + 1} were given"
            )
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = _registry(self)
        d["_buffers"] = _registry(self)
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = _registry(self)
        d["_backward_pre_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_is_full_backward_hook"] = None
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = OrderedDict()
        d["_forward_hooks_always_called"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = OrderedDict()
        d["_state_dict_hooks"] = OrderedDict()
        d["_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_post_hooks"] = OrderedDict()

    forward: Callable[..., Any]

    def forward(self, *input):  # noqa: F811
        """Define the computation; subclasses override."""
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # --- calling ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self._hooks_on or _global_hooks or _global_pre_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    _call_impl = __call__

    def _refresh_hooks(self) -> None:
        self.__dict__["_hooks_on"] = bool(
            self._forward_hooks
            or self._forward_pre_hooks
            or self._backward_hooks
            or self._backward_pre_hooks
        )

    def _call_with_hooks(self, args, kwargs):
        for hid, hook in itertools.chain(
            _global_pre_hooks.items(), self._forward_pre_hooks.items()
        ):
            if hid in self._forward_pre_hooks_with_kwargs:
                r = hook(self, args, kwargs)
                if r is not None:
                    args, kwargs = r
                continue
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        bw = bool(self._backward_hooks or self._backward_pre_hooks)
        state = None
        if bw:
            state = _BackwardHookState(self)
            args = state.wrap_inputs(args)
        out = self.forward(*args, **kwargs)
        for hid, hook in itertools.chain(_global_hooks.items(), self._forward_hooks.items()):
            if hid in self._forward_hooks_with_kwargs:
                r = hook(self, args, kwargs, out)
            else:
                r = hook(self, args, out)
            if r is not None:
                out = r
        if bw:
            out = state.wrap_outputs(out)
        return out

    # --- hooks (the register_*_hook methods live in _hook_methods.py) ---------------------
    register_forward_pre_hook = _hm.register_forward_pre_hook
    register_forward_hook = _hm.register_forward_hook
    register_full_backward_hook = _hm.register_full_backward_hook
    register_full_backward_pre_hook = _hm.register_full_backward_pre_hook
    register_backward_hook = _hm.register_backward_hook
    register_state_dict_pre_hook = _hm.register_state_dict_pre_hook
    register_state_dict_post_hook = _hm.register_state_dict_post_hook
    _register_state_dict_hook = register_state_dict_post_hook
    register_load_state_dict_pre_hook = _hm.register_load_state_dict_pre_hook
    register_load_state_dict_post_hook = _hm.register_load_state_dict_post_hook

    # --- attribute protocol ----------------------------------------------------------------
    def __getattr__(self, name: str):
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            r = d.get(reg)
            if r is not None and name in r:
                return r[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._drop(name, keep="_parameters")
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' "
                    "(torch.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
            return
        if isinstance(value, Module):
            if d.get("_modules") is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._drop(name, keep="_modules")
            d["_modules"][name] = value
            return
        mods = d.get("_modules")
        if mods is not None and name in mods:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as child module '{name}' "
                    "(torch.nn.Module or None expected)"
                )
            mods[name] = value
            return
        bufs = d.get("_buffers")
        if isinstance(value, Buffer) or (
            type(value) is Tensor and getattr(value, "persistent", None) is not None
        ):
            if bufs is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            self._drop(name, keep="_buffers")
            self.register_buffer(name, value, persistent=getattr(value, "persistent", True))
            return
        if bufs is not None and name in bufs:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as buffer '{name}' "
                    "(torch.Tensor or None expected)"
                )
            bufs[name] = value
            return
        object.__setattr__(self, name, value)

    def _drop(self, name: str, keep: str) -> None:
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg != keep:
                r = d.get(reg)
                if r is not None and name in r:
                    del r[name]
        if keep != "_buffers":
            d["_non_persistent_buffers_set"].discard(name)
        r = d.get(keep)
        if name in d and (r is None or name not in r):
            del d[name]

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            r = d.get(reg)
            if r is not None and name in r:
                del r[name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __getstate__(self) -> dict:
        """torch's layout: plain dict registries, no mirrored entries (whole-model pickles
        load in torch)."""
        d = dict(self.__dict__)
        for reg in ("_parameters", "_buffers", "_modules"):
            r = d.get(reg)
            if r is None:
                continue
            for k, v in dict.items(r):
                if k in d and d[k] is v:
                    del d[k]
            d[reg] = dict(dict.items(r))
        d.pop("_hooks_on", None)
        return d

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for name in (
            "_forward_hooks",
            "_forward_hooks_with_kwargs",
            "_forward_hooks_always_called",
            "_forward_pre_hooks",
            "_forward_pre_hooks_with_kwargs",
            "_backward_hooks",
            "_backward_pre_hooks",
            "_state_dict_hooks",
            "_state_dict_pre_hooks",
            "_load_state_dict_pre_hooks",
            "_load_state_dict_post_hooks",
        ):
            if name not in self.__dict__:
                self.__dict__[name] = OrderedDict()
        self.__dict__.setdefault("_non_persistent_buffers_set", set())
        self.__dict__.setdefault("_is_full_backward_hook", None)
        for reg in ("_parameters", "_buffers", "_modules"):
            r = self.__dict__.get(reg)
            if r is None:
                r = {}
            if not isinstance(r, _Registry):
                new = _registry(self)
                dict.update(new, r)
                r = new
                self.__dict__[reg] = r
            r._owner = self
            self.__dict__.update(dict.items(r))
        self._refresh_hooks()

    def __dir__(self):
        keys = set(object.__dir__(self))
        keys |= set(self._parameters) | set(self._buffers) | set(self._modules)
        return sorted(k for k in keys if not k[0].isdigit())

    # --- registration ----------------------------------------------------------------------
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder) under ``name``."""
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"parameter name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError('parameter name can\'t contain "."')
        if name == "":
            raise KeyError('parameter name can\'t be empty string ""')
        if name in d and name not in d["_parameters"]:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            d["_parameters"][name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                "(torch.nn.Parameter or None required)"
            )
        if param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must "
                f"be created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method."
            )
        d["_parameters"][name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer (saved in state_dict unless ``persistent=False``)."""
        d = self.__dict__
        if "_buffers" not in d:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"buffer name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError('buffer name can\'t contain "."')
        if name == "":
            raise KeyError('buffer name can\'t be empty string ""')
        if name in d and name not in d["_buffers"]:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                "(torch Tensor or None required)"
            )
        if isinstance(tensor, Buffer):
            persistent = tensor.persistent
        d["_buffers"][name] = tensor
        if persistent:
            d["_non_persistent_buffers_set"].discard(name)
        else:
            d["_non_persistent_buffers_set"].add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name``."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        d = self.__dict__
        if name in d and name not in d["_modules"]:
            raise KeyError(f"attribute '{name}' already exists")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        d["_modules"][name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at a dotted path ('' is self)."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def set_submodule(self, target: str, module: Module) -> None:
        """Replace the submodule at a dotted path."""
        *path, last = target.split(".")
        parent = self.get_submodule(".".join(path))
        setattr(parent, last, module)

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at a dotted path."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        p = getattr(mod, name)
        if not isinstance(p, Parameter):
            raise AttributeError("`" + name + "` is not an nn.Parameter")
        return p

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at a dotted path."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._buffers:
            raise AttributeError("`" + name + "` is not a buffer")
        return mod._buffers[name]

    def get_extra_state(self):
        """Extra state for state_dict (modules override)."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called."
        )

    def set_extra_state(self, state) -> None:
        """Restore extra state (modules override)."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called."
        )

    def _has_extra_state(self) -> bool:
        return type(self).get_extra_state is not Module.get_extra_state

    # --- iteration -------------------------------------------------------------------------
    def _named_members(
        self, get, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ):
        mods = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        seen = set()
        for mp, m in mods:
            for k, v in get(m):
                if v is None:
                    continue
                if remove_duplicate:
                    if id(v) in seen:
                        continue
                    seen.add(id(v))
                yield (mp + ("." if mp else "") + k, v)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, each shared one once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs."""
        return self._named_members(
            lambda m: m._parameters.items(), prefix, recurse, remove_duplicate
        )

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs."""
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        for _, m in self.named_children():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) pairs of the direct submodules."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def modules(self) -> Iterator[Module]:
        """Every module, self first."""
        for _, m in self.named_modules():
            yield m

    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) pairs, self first, depth-first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from m.named_modules(memo, sub, remove_duplicate)

    # --- modes and conversions -------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all submodules."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.__dict__["training"] = mode
        for m in self._modules.values():
            if m is not None:
                m.train(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set requires_grad on every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None by default)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g._rg = False
                g._data[...] = 0

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call fn on every submodule (children first) and then self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- device and dtype (bound from _conversion.py) ------------------------------------
    _apply = _cv._apply
    to = _cv.to
    cpu = _cv.cpu
    cuda = _cv.cuda
    type = _cv.type
    _cast_float = _cv._cast_float
    float = _cv.float
    double = _cv.double
    half = _cv.half
    bfloat16 = _cv.bfloat16
    to_empty = _cv.to_empty
    share_memory = _cv.share_memory

    # --- state dict ------------------------------------------------------------------------
    _save_to_state_dict = _sd.save_to_state_dict
    state_dict = _sd.state_dict
    _load_from_state_dict = _sd.load_from_state_dict
    load_state_dict = _sd.load_state_dict

    # --- printing --------------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """Extra text inside this module's repr parentheses; layers override."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for key, m in self._modules.items():
            lines.append("(" + key + "): " + _addindent(repr(m), 2))
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def compile(self, *args, **kwargs) -> None:
        """No-op (ember runs eagerly)."""
        return None
