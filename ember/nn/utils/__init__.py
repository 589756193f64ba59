"""nn.utils: gradient clipping, parameter/vector conversion, sequence packing,
parametrizations, conv/linear + BatchNorm fusion and skip_init."""

from __future__ import annotations

from ..._torch_alias import module_getattr as _module_getattr
from . import fusion, parametrizations, parametrize, prune, rnn, stateless  # noqa: F401
from .clip_grad import (  # noqa: F401
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from .fusion import (  # noqa: F401
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)
from .init import skip_init  # noqa: F401
from .memory_format import (  # noqa: F401
    convert_conv2d_weight_memory_format,
    convert_conv3d_weight_memory_format,
)
from .weight_norm import (  # noqa: F401
    remove_spectral_norm,
    remove_weight_norm,
    spectral_norm,
    weight_norm,
)

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
