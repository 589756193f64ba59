"""torch.utils.model_zoo: the old home of ``load_url``, which is ``torch.hub``'s
``load_state_dict_from_url`` (the same function, cached in the same hub folder)."""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr
from ..hub import load_state_dict_from_url as load_url

__all__ = ["load_url"]

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
