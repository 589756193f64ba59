"""torch.cuda.nccl: NCCL collectives over tensors on several GPUs of one process.

ember does not implement them: ``is_available`` is False for any tensors, so callers take their
other path, and the collectives raise ember's not-implemented error with a GPU. Without a GPU
they raise "Torch not compiled with CUDA enabled" (torch's CPU build fails there on
``torch._C``). ``version()`` reports the NCCL that CuPy loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from .._backend.xp import nccl as _bindings
from .._torch_alias import module_getattr as _module_getattr
from .._torch_alias import not_implemented
from ..tensor import Tensor
from ._runtime import require

__all__ = ["all_reduce", "reduce", "broadcast", "all_gather", "reduce_scatter"]

SUM = 0  # NCCL's code for a sum (ncclSum), the default ``op``


def is_available(tensors: Any) -> bool:
    """Whether NCCL can run a collective over ``tensors``: never in ember."""
    return False


def version() -> tuple[int, int, int]:
    """The version of the NCCL library CuPy loads, as (major, minor, patch)."""
    require()
    code = _bindings().get_version()
    return code // 10000, code // 100 % 100, code % 100


def _collective(name: str) -> NoReturn:
    require()
    raise not_implemented(f"torch.cuda.nccl.{name}")


def unique_id() -> bytes:
    """A fresh NCCL id for ``init_rank`` (not implemented by ember)."""
    _collective("unique_id")


def init_rank(num_ranks: int, uid: bytes, rank: int) -> Any:
    """A communicator for this process's rank (not implemented by ember)."""
    _collective("init_rank")


def all_reduce(inputs: Sequence[Tensor], outputs=None, op: int = SUM, streams=None, comms=None):
    """Sum (``op``) the inputs into every output (not implemented by ember)."""
    _collective("all_reduce")


def reduce(
    inputs: Sequence[Tensor],
    output=None,
    root: int = 0,
    op: int = SUM,
    streams=None,
    comms=None,
    *,
    outputs=None,
) -> None:
    """Reduce the inputs into the root's output (not implemented by ember)."""
    _collective("reduce")


def broadcast(inputs: Sequence[Tensor], root: int = 0, streams=None, comms=None) -> None:
    """Copy the root's input into every other input (not implemented by ember)."""
    _collective("broadcast")


def all_gather(inputs: Sequence[Tensor], outputs: Sequence[Tensor], streams=None, comms=None):
    """Concatenate the inputs into every output (not implemented by ember)."""
    _collective("all_gather")


def reduce_scatter(
    inputs: Sequence[Tensor], outputs: Sequence[Tensor], op: int = SUM, streams=None, comms=None
) -> None:
    """Reduce the inputs and scatter the result over the outputs (not implemented by ember)."""
    _collective("reduce_scatter")


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
