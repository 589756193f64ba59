"""The modules of ``torch.utils.benchmark``, at torch's paths (``...benchmark.utils.common``
and the others), so pickled Measurements and direct imports find them."""

from ...._torch_alias import module_getattr as _module_getattr

__getattr__ = _module_getattr(__name__)  # fuzzer, valgrind_wrapper...: the not-implemented error
