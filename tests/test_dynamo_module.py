"""torch._dynamo and torch._inductor.config in an eager framework: torch's defaults for the keys
scripts set, decorators that give the function back, markers that record nothing."""

from __future__ import annotations

import inspect

import pytest

import ember
import ember._dynamo
import ember._inductor.config
from tests._support.torch_ref import torch

pytest.importorskip("torch._dynamo")
pytest.importorskip("torch._inductor.config")

DYNAMO_KEYS = (
    "suppress_errors",
    "cache_size_limit",
    "optimize_ddp",
    "verbose",
    "capture_scalar_outputs",
    "automatic_dynamic_shapes",
    "assume_static_by_default",
    "recompile_limit",
    "accumulated_cache_size_limit",
)
INDUCTOR_KEYS = ("coordinate_descent_tuning", "fx_graph_cache", "freezing", "max_autotune")


def test_config_defaults_match_torch():
    for key in DYNAMO_KEYS:
        assert getattr(ember._dynamo.config, key) == getattr(torch._dynamo.config, key), key
    for key in INDUCTOR_KEYS:
        assert getattr(ember._inductor.config, key) == getattr(torch._inductor.config, key), key
    assert (
        ember._inductor.config.triton.unique_kernel_names
        == torch._inductor.config.triton.unique_kernel_names
    )


def test_config_remembers_assignments_and_patch_restores():
    cfg = ember._dynamo.config
    with cfg.patch(suppress_errors=True, cache_size_limit=32):
        assert cfg.suppress_errors is True and cfg.cache_size_limit == 32
    assert cfg.suppress_errors is False and cfg.cache_size_limit == 8
    with ember._inductor.config.patch({"triton.cudagraphs": True}):
        assert ember._inductor.config.triton.cudagraphs is True
    assert ember._inductor.config.triton.cudagraphs is False
    # torch refuses keys it does not declare; ember keeps any (documented difference)
    cfg.some_new_key = 3
    try:
        assert cfg.some_new_key == 3
    finally:
        del cfg.some_new_key
    with pytest.raises(AttributeError, match="torch._dynamo.config.never_set_key"):
        cfg.never_set_key  # noqa: B018


def test_is_compiling_and_decorators_match_torch_eager():
    assert ember._dynamo.is_compiling() is torch._dynamo.is_compiling() is False
    for m in (ember._dynamo, torch._dynamo):

        @m.disable
        def f(x):
            return x + 1

        @m.disable(recursive=False)
        def g(x):
            return x * 2

        assert f(1) == 2 and g(3) == 6
    ed, td = inspect.signature(ember._dynamo.disable), inspect.signature(torch._dynamo.disable)
    assert list(ed.parameters) == list(td.parameters)
    assert ember._dynamo.disable(len) is len


def test_markers_and_passthroughs():
    x = ember.ones(2, 3)
    assert ember._dynamo.mark_dynamic(x, 0) is None
    assert ember._dynamo.mark_dynamic(x, [0, 1], min=2, max=8) is None
    assert ember._dynamo.maybe_mark_dynamic(x, 1) is None
    assert ember._dynamo.mark_static(x, 0) is None
    assert ember._dynamo.mark_static_address(x) is None
    assert ember._dynamo.graph_break() is None
    assert ember._dynamo.reset() is None
    for fn in ("allow_in_graph", "disallow_in_graph", "assume_constant_result", "run"):
        assert getattr(ember._dynamo, fn)(len) is len, fn
    assert ember._dynamo.optimize("inductor")(len) is len
    with ember._dynamo.optimize("eager", nopython=True):
        y = x * 2
    assert y.sum().item() == 12.0
    assert ember._dynamo.run()(len) is len


def test_private_namespaces_reachable_as_attributes():
    assert ember.__getattr__("_dynamo") is ember._dynamo
    assert ember.__getattr__("_utils")._rebuild_tensor_v2 is not None
    assert ember.__getattr__("_inductor").config is ember._inductor.config
    with pytest.raises(NotImplementedError, match="torch._not_a_module"):
        ember.__getattr__("_not_a_module")
