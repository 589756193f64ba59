"""torch.compiler's switches in an eager framework: decorators give the function back, nothing is
compiling, and the context managers run their body."""

from __future__ import annotations

import ember
from tests._support.torch_ref import torch


def test_compiler_markers_as_torch_eager():
    for m in (ember, torch):

        @m.compiler.disable
        def f(x):
            return x + 1

        @m.compiler.disable(recursive=False)
        def g(x):
            return x * 2

        assert f(1) == 2 and g(3) == 6
        assert m.compiler.is_compiling() is False and m.compiler.is_dynamo_compiling() is False
        assert m.compiler.is_exporting() is False
    # allow_in_graph, set_stance and reset change torch's global compiler state: ember's alone
    assert ember.compiler.allow_in_graph(len) is len
    with ember.compiler.set_stance("force_eager"):
        assert ember.compiler.compile(len) is len
    ember.compiler.reset()
    assert ember.compiler.list_backends() == []
