"""`ember run` on a script that sets torch._dynamo / torch._inductor options, as training scripts
do before `torch.compile`."""

from __future__ import annotations

from tests.integration.test_cli import ember_run, result


def test_dynamo_settings_script_runs_eagerly():
    info = result(ember_run("dynamo_settings.py"))
    assert info == {
        "dynamo_module": "ember._dynamo",
        "suppress_errors": True,
        "cache_size_limit": 64,
        "unique_kernel_names": False,
        "is_compiling": False,
        "double": [2.0, 2.0],
        "model_is_linear": True,
        "utils": "ember._utils",
    }
