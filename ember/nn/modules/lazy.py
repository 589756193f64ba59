"""LazyModuleMixin: the machinery of lazy modules (LazyLinear, LazyConv*, LazyBatchNorm*, ...),
whose parameter shapes come from their first input, as ``torch.nn.modules.lazy``.

A lazy module holds UninitializedParameter / UninitializedBuffer objects (``nn/parameter.py``)
until its first call: a forward pre-hook then runs ``initialize_parameters(*input)``, which
materialises them in place with the inferred shapes and initialises them as the non-lazy layer
does; the hook removes itself and the module's class becomes ``cls_to_become`` (LazyLinear ->
Linear). The layer classes themselves live next to their non-lazy families (``linear.py``,
``conv.py``, ``batchnorm.py``, ``instancenorm.py``), as torch's.
"""

from __future__ import annotations

import itertools
from typing import Any

from ...autograd.grad_mode import no_grad
from ..parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mixin of modules whose parameters are shaped by their first input, as torch's.

    Put it before the Module class in the bases and define ``initialize_parameters(*input)``
    (materialise each uninitialised tensor, then ``reset_parameters()``). Until the first call
    ``state_dict()`` holds the uninitialised tensors themselves; ``load_state_dict`` of
    initialised values materialises them with the loaded shapes; parameters handed to an
    optimizer before the first call are the objects that get materialised.
    """

    cls_to_become: type | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(
            self._infer_parameters, with_kwargs=True
        )

    def _lazy_members(self):
        return itertools.chain(self._parameters.items(), self._buffers.items())

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        # the uninitialised tensors go in as they are (detaching one is an error), the others
        # detached as usual
        super()._save_to_state_dict(destination, prefix, True)
        if keep_vars:
            return
        for name, t in self._lazy_members():
            key = prefix + name
            if t is not None and not is_lazy(t) and destination.get(key) is t:
                destination[key] = t.detach()

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ) -> None:
        # an initialised value loaded into an uninitialised tensor first gives it the value's
        # shape, so the copy that follows succeeds (the module stays lazy until its forward)
        for name, t in self._lazy_members():
            key = prefix + name
            if t is None or not is_lazy(t) or key not in state_dict:
                continue
            value = state_dict[key]
            if not is_lazy(value):
                with no_grad():
                    t.materialize(tuple(value.shape))
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Materialise and initialise the parameters from the first input; each lazy layer
        defines it."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {type(self).__name__}"
        )

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer of this module is still uninitialised."""
        return any(is_lazy(t) for _, t in self._lazy_members())

    def _infer_parameters(self, module, args: tuple, kwargs: dict | None = None) -> None:
        """The forward pre-hook: initialise from the call's input, then stop being lazy."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        del module._initialize_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become
