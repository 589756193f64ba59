"""nn.Module: the base of every layer; registers parameters, buffers and submodules.

Registered members are also mirrored into the instance ``__dict__`` so that ``self.weight`` and
``self.fc1`` are plain attribute reads on the training hot path (torch resolves them through
``__getattr__``); the registries stay the source of truth and keep the mirror in sync.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..._grad_state import state as _grad_state
from ...autograd.engine import _legacy_type_name
from ...autograd.grad_mode import no_grad
from ...autograd.hooks import RemovableHandle
from ...dtypes import bfloat16, float16, float32, float64
from ...ops.creation import empty_like
from ...ops.module_hooks import apply_backward_hooks
from ...tensor import Tensor, _parse_to, _wrap
from ..parameter import Buffer, Parameter, is_lazy
from ._registry import _Registry, _registry

__all__ = ["Module", "register_module_forward_pre_hook", "register_module_forward_hook"]


def _typename(v) -> str:
    if isinstance(v, Tensor):
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


_global_pre_hooks: OrderedDict = OrderedDict()
_global_hooks: OrderedDict = OrderedDict()


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """A forward pre-hook run for every module."""
    h = RemovableHandle(_global_pre_hooks)
    _global_pre_hooks[h.id] = hook
    return h


def register_module_forward_hook(hook: Callable) -> RemovableHandle:
    """A forward hook run for every module."""
    h = RemovableHandle(_global_hooks)
    _global_hooks[h.id] = hook
    return h


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class _BackwardHookState:
    def __init__(self, module):
        self.module = module
        self.n_in = 0
        self.in_pos: list = []
        self.grad_out = None

    def wrap_inputs(self, args):
        if not _grad_state.enabled:
            return args
        pos = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a._rg]
        self.in_pos = pos
        self.n_in = len(args)
        if not pos:
            return args
        outs = apply_backward_hooks(self._on_input_grad, [args[i] for i in pos])
        args = list(args)
        for i, t in zip(pos, outs):
            args[i] = t
        return tuple(args)

    def _on_input_grad(self, grads):
        gin = [None] * self.n_in
        for i, g in zip(self.in_pos, grads):
            gin[i] = _wrap_g(g)
        gin = tuple(gin)
        for hook in self.module._backward_hooks.values():
            r = hook(self.module, gin, self.grad_out)
            if r is not None:
                gin = tuple(r)
        return tuple(None if gin[i] is None else gin[i]._data for i in self.in_pos)

    def wrap_outputs(self, out):
        if not _grad_state.enabled:
            return out
        single = isinstance(out, Tensor)
        seq = [out] if single else list(out) if isinstance(out, (tuple, list)) else None
        if seq is None:
            return out
        pos = [i for i, a in enumerate(seq) if isinstance(a, Tensor) and a._rg]
        if not pos:
            return out
        self.out_pos = pos
        self.n_out = len(seq)
        wrapped = apply_backward_hooks(self._on_output_grad, [seq[i] for i in pos])
        for i, t in zip(pos, wrapped):
            seq[i] = t
        return seq[0] if single else type(out)(seq)

    def _on_output_grad(self, grads):
        gout = [None] * self.n_out
        for i, g in zip(self.out_pos, grads):
            gout[i] = _wrap_g(g)
        gout = tuple(gout)
        for hook in self.module._backward_pre_hooks.values():
            r = hook(self.module, gout)
            if r is not None:
                gout = tuple(r) if isinstance(r, (tuple, list)) else (r,)
        self.grad_out = gout
        if not self.in_pos and self.module._backward_hooks:
            gin = (None,) * max(self.n_in, 1)
            for hook in self.module._backward_hooks.values():
                hook(self.module, gin, gout)
        return tuple(None if gout[i] is None else gout[i]._data for i in self.out_pos)


def _wrap_g(g):
    return g if g is None or isinstance(g, Tensor) else _wrap(g)


def _as_ember(v):
    """State-dict values: ember tensors, or torch tensors / arrays converted without torch."""
    if isinstance(v, Tensor):
        return v
    if hasattr(v, "detach") and hasattr(v, "numpy"):
        return _wrap(np.array(v.detach().cpu().numpy()))
    return v


def _copy_into(dst: Tensor, src: Tensor) -> None:
    with no_grad():
        dst.copy_(src)


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
        # over a snapshot: a hook may remove itself (a lazy module's does, on its first call)
        for hid, hook in (*_global_pre_hooks.items(), *self._forward_pre_hooks.items()):
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
        for hid, hook in (*_global_hooks.items(), *self._forward_hooks.items()):
            if hid in self._forward_hooks_with_kwargs:
                r = hook(self, args, kwargs, out)
            else:
                r = hook(self, args, out)
            if r is not None:
                out = r
        if bw:
            out = state.wrap_outputs(out)
        return out

    # --- hooks ----------------------------------------------------------------------------
    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """hook(module, args) -> None or new args, run before forward."""
        h = RemovableHandle(
            self._forward_pre_hooks,
            extra_dict=self._forward_pre_hooks_with_kwargs,
            on_remove=self._refresh_hooks,
        )
        self._forward_pre_hooks[h.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[h.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(h.id, last=False)
        self._refresh_hooks()
        return h

    def register_forward_hook(
        self,
        hook: Callable,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """hook(module, args, output) -> None or new output, run after forward."""
        h = RemovableHandle(
            self._forward_hooks,
            extra_dict=[self._forward_hooks_with_kwargs, self._forward_hooks_always_called],
            on_remove=self._refresh_hooks,
        )
        self._forward_hooks[h.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[h.id] = True
        if always_call:
            self._forward_hooks_always_called[h.id] = True
        if prepend:
            self._forward_hooks.move_to_end(h.id, last=False)
        self._refresh_hooks()
        return h

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """hook(module, grad_input, grad_output) -> None or new grad_input."""
        if self._is_full_backward_hook is False:
            raise RuntimeError(
                "Cannot use both regular backward hooks and full backward hooks "
                "on a single Module. Please use only one of them."
            )
        self.__dict__["_is_full_backward_hook"] = True
        h = RemovableHandle(self._backward_hooks, on_remove=self._refresh_hooks)
        self._backward_hooks[h.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(h.id, last=False)
        self._refresh_hooks()
        return h

    def register_full_backward_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """hook(module, grad_output) -> None or new grad_output."""
        h = RemovableHandle(self._backward_pre_hooks, on_remove=self._refresh_hooks)
        self._backward_pre_hooks[h.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(h.id, last=False)
        self._refresh_hooks()
        return h

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Deprecated in torch; behaves as the full backward hook here."""
        return self.register_full_backward_hook(hook)

    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """A hook run before state_dict() collects entries."""
        h = RemovableHandle(self._state_dict_pre_hooks)
        self._state_dict_pre_hooks[h.id] = hook
        return h

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """A hook run after state_dict() collected entries."""
        h = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[h.id] = hook
        return h

    _register_state_dict_hook = register_state_dict_post_hook

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """A hook run before load_state_dict() copies entries."""
        h = RemovableHandle(self._load_state_dict_pre_hooks)
        self._load_state_dict_pre_hooks[h.id] = hook
        return h

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """A hook run after load_state_dict()."""
        h = RemovableHandle(self._load_state_dict_post_hooks)
        self._load_state_dict_post_hooks[h.id] = hook
        return h

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
                if g._sparse:  # torch's zero_ of a sparse gradient drops its entries
                    g.zero_()
                else:
                    g._data[...] = 0
                    g._bump()

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call fn on every submodule (children first) and then self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- device and dtype ------------------------------------------------------------------
    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> Module:
        """Convert every parameter and buffer with fn, keeping Parameter identity."""
        if recurse:
            for m in self.children():
                m._apply(fn)
        for _key, p in list(self._parameters.items()):
            if p is None:
                continue
            if is_lazy(p):  # no values to convert: the placeholder takes fn's dtype and device
                p.data = fn(p).data
                continue
            new = fn(p.detach())
            if new._data is not p._data:
                p._data = new._data
                p.__dict__.pop("_vc", None)
            if p.grad is not None:
                gnew = fn(p.grad)
                if gnew._data is not p.grad._data:
                    p.grad._data = gnew._data
        for key, b in list(self._buffers.items()):
            if b is not None:
                nb = fn(b)
                if nb is not b:
                    self._buffers[key] = nb
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move and/or cast parameters and buffers (floating ones only for dtype)."""
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        dev, dt, _ = _parse_to(args, kwargs)
        if dt is not None and not (dt.is_floating_point or dt.is_complex):
            raise TypeError(
                "nn.Module.to only accepts floating point or complex dtypes, but "
                f"got desired dtype={dt}"
            )

        def conv(t):
            if dt is not None and (t.is_floating_point() or t.is_complex()):
                return t._to(dev, dt)
            return t._to(dev, None)

        return self._apply(conv)

    def cpu(self) -> Module:
        """Move parameters and buffers to the CPU."""
        return self._apply(lambda t: t.cpu())

    def cuda(self, device=None) -> Module:
        """Move parameters and buffers to a CUDA device."""
        return self._apply(lambda t: t.cuda(device))

    def type(self, dst_type) -> Module:
        """Cast parameters and buffers."""
        return self._apply(lambda t: t.type(dst_type))

    def _cast_float(self, dtype) -> Module:
        return self._apply(lambda t: t._to(None, dtype) if t.is_floating_point() else t)

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32."""
        return self._cast_float(float32)

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64."""
        return self._cast_float(float64)

    def half(self) -> Module:
        """Cast floating parameters and buffers to float16."""
        return self._cast_float(float16)

    def bfloat16(self) -> Module:
        """Cast floating parameters and buffers to bfloat16."""
        return self._cast_float(bfloat16)

    def to_empty(self, *, device=None, recurse: bool = True) -> Module:
        """Move to ``device`` with uninitialised storage (values are not copied)."""
        return self._apply(lambda t: empty_like(t, device=device), recurse)

    def share_memory(self) -> Module:
        """No-op (arrays are process memory)."""
        return self

    # --- state dict ------------------------------------------------------------------------
    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        np_set = self._non_persistent_buffers_set
        for name, b in self._buffers.items():
            if b is not None and name not in np_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if self._has_extra_state():
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def state_dict(
        self, *args, destination=None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict:
        """Parameters and persistent buffers by dotted name, with ``_metadata`` versions."""
        if args:
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        meta = getattr(destination, "_metadata", None)
        if meta is not None:
            meta[prefix[:-1]] = {"version": self._version}
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(
                    destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars
                )
        for hook in self._state_dict_hooks.values():
            r = hook(self, destination, prefix, {"version": self._version})
            if r is not None:
                destination = r
        return destination

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ) -> None:
        for hook in self._load_state_dict_pre_hooks.values():
            hook(
                state_dict,
                prefix,
                local_metadata,
                strict,
                missing_keys,
                unexpected_keys,
                error_msgs,
            )
        np_set = self._non_persistent_buffers_set
        local = {k: v for k, v in self._parameters.items() if v is not None}
        local.update((k, v) for k, v in self._buffers.items() if v is not None and k not in np_set)
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, cur in local.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            val = _as_ember(state_dict[key])
            if not isinstance(val, Tensor):
                error_msgs.append(
                    f'While copying the parameter named "{key}", expected torch.Tensor or '
                    f"Tensor-like object from checkpoint but received {type(val)}"
                )
                continue
            if is_lazy(cur) and is_lazy(val):
                continue  # uninitialised into uninitialised: nothing to copy
            # val.shape: an uninitialised value raises torch's error for loading it here
            if tuple(val.shape) != tuple(cur._data.shape):
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {val.shape} from "
                    f"checkpoint, the shape in current model is {cur.shape}."
                )
                continue
            try:
                if assign:
                    if name in self._parameters:
                        newp = Parameter(val, requires_grad=cur._rg)
                        self._parameters[name] = newp
                    else:
                        self._buffers[name] = val
                else:
                    _copy_into(cur, val)
            except Exception as ex:
                error_msgs.append(
                    f'While copying the parameter named "{key}", whose dimensions in the model '
                    f"are {cur.shape} and whose dimensions in the checkpoint are {val.shape}, an "
                    f"exception occurred : {ex.args}."
                )
        extra = prefix + "_extra_state"
        if self._has_extra_state():
            if extra in state_dict:
                self.set_extra_state(state_dict[extra])
            elif strict:
                missing_keys.append(extra)
        if strict:
            for key in state_dict:
                if not key.startswith(prefix) or key == extra:
                    continue
                head = key[len(prefix) :].split(".", 1)
                if len(head) > 1:
                    if head[0] not in self._modules:
                        unexpected_keys.append(key)
                elif head[0] not in local:
                    unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy parameters and buffers in; returns (missing_keys, unexpected_keys)."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing: list = []
        unexpected: list = []
        errors: list = []
        metadata = getattr(state_dict, "_metadata", None)
        sd = OrderedDict(state_dict)
        if metadata is not None:
            sd._metadata = metadata

        def load(module, prefix=""):
            local_meta = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_meta["assign_to_params_buffers"] = True
            module._load_from_state_dict(sd, prefix, local_meta, True, missing, unexpected, errors)
            for name, child in module._modules.items():
                if child is not None:
                    load(child, prefix + name + ".")
            incompatible = _IncompatibleKeys(missing, unexpected)
            for hook in module._load_state_dict_post_hooks.values():
                hook(module, incompatible)

        load(self)
        if strict:
            if unexpected:
                errors.insert(
                    0,
                    "Unexpected key(s) in state_dict: {}. ".format(
                        ", ".join(f'"{k}"' for k in unexpected)
                    ),
                )
            if missing:
                errors.insert(
                    0,
                    "Missing key(s) in state_dict: {}. ".format(
                        ", ".join(f'"{k}"' for k in missing)
                    ),
                )
        if errors:
            raise RuntimeError(
                "Error(s) in loading state_dict for {}:\n\t{}".format(
                    type(self).__name__, "\n\t".join(errors)
                )
            )
        return _IncompatibleKeys(missing, unexpected)

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
