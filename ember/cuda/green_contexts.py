"""torch.cuda.green_contexts: CUDA green contexts (a share of a GPU's SMs), which neither
torch's CPU build nor ember (CuPy has no green contexts) supports: making or entering one
raises torch's RuntimeError "PyTorch was not built with Green Context support!"."""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr

__all__ = ["GreenContext"]

SUPPORTED = False  # whether green contexts can be made here: never in ember
_UNSUPPORTED = "PyTorch was not built with Green Context support!"


class GreenContext:
    """A green context (unsupported: ``create`` raises). torch's CPU build fails on
    ``set_context``/``pop_context`` with an internal AttributeError; ember raises the
    RuntimeError of ``create``."""

    @staticmethod
    def create(
        *,
        num_sms: int | None = None,
        workqueue_scope: str | None = None,
        workqueue_concurrency_limit: int | None = None,
        device_id: int | None = None,
    ) -> GreenContext:
        raise RuntimeError(_UNSUPPORTED)

    @staticmethod
    def max_workqueue_concurrency(device_id: int | None = None) -> int:
        raise RuntimeError(_UNSUPPORTED)

    def set_context(self) -> None:
        raise RuntimeError(_UNSUPPORTED)

    def pop_context(self) -> None:
        raise RuntimeError(_UNSUPPORTED)

    def Stream(self) -> None:  # noqa: N802  (torch's name)
        raise RuntimeError(_UNSUPPORTED)


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
