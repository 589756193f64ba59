"""Module.state_dict / load_state_dict: torch's keys, ``_metadata`` versions, strict loading
with torch's error wording (these functions are bound as Module methods)."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

from ...tensor import Tensor
from ..parameter import Parameter


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
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
            m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
    for hook in self._state_dict_hooks.values():
        r = hook(self, destination, prefix, {"version": self._version})
        if r is not None:
            destination = r
    return destination


def load_from_state_dict(
    self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
) -> None:
    for hook in self._load_state_dict_pre_hooks.values():
        hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
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
        if tuple(val._data.shape) != tuple(cur._data.shape):
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
                0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing))
            )
    if errors:
        raise RuntimeError(
            "Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)
            )
        )
    return _IncompatibleKeys(missing, unexpected)


def _as_ember(v):
    """State-dict values: ember tensors, or torch tensors / arrays converted without torch."""
    if isinstance(v, Tensor):
        return v
    if hasattr(v, "detach") and hasattr(v, "numpy"):
        import numpy as np

        from ...tensor import _wrap

        return _wrap(np.array(v.detach().cpu().numpy()))
    return v


def _copy_into(dst: Tensor, src: Tensor) -> None:
    from ...autograd.grad_mode import no_grad

    with no_grad():
        dst.copy_(src)
