"""ember.func: function transforms, as torch.func (vmap, grad, vjp, jvp, jacrev, jacfwd,
hessian, functional_call, stack_module_state).

How it is built, and why. The autodiff transforms reuse ember's reverse-mode engine: each one
differentiates with respect to fresh aliases of its inputs, and keeps the graph (create_graph)
only while an outer transform needs it, so they nest as torch.func's levels do. Forward mode
(jvp, jacfwd, hessian's outer pass) is the double-vjp identity: J t = d/du <J^T u, t>, two
reverse passes, exact (not a difference quotient); it covers every op whose backward has a
graph-building form, and raises ember's "cannot differentiate twice" RuntimeError elsewhere
instead of a wrong number. No op needs a second (tangent) rule that could disagree with its
backward, and nothing is added to the ops' or the engine's hot paths.

vmap batches at the array level (``_batched.py``): a ``BatchedArray`` shows ember's op code one
sample while holding the whole batch, through NumPy's ``__array_ufunc__`` and
``__array_function__`` protocols, so the ops' own forward and backward code runs once for the
batch and grad inside vmap gives per-sample gradients from one backward pass. What it cannot map
exactly raises ``Unbatchable``, and vmap then runs the function once per sample and stacks the
results, which is correct for any function and any nesting.

Differences from torch: a tensor returned with out_dims=None is accepted when it is the same
for every sample (torch rejects any tensor that depends on a mapped input); randomness='error'
is checked by whether the default generator advanced; vmap over a dimension of size 0 raises;
on the per-sample path, control flow on values works where torch raises.
"""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr
from ._functional_call import functional_call, stack_module_state
from ._transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp
from ._vmap import vmap

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "stack_module_state",
    "vjp",
    "vmap",
]

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
