"""The first-run experience: the README's Quickstart is two commands, the first installs what the
demo shows (the `demo` extra) and runs it; a plain install stays NumPy-only."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _quickstart_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the Quickstart has a bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_plain_install_is_numpy_only():
    deps = _pyproject()["project"]["dependencies"]
    assert [re.split(r"[<>=!~ \[]", d)[0] for d in deps] == ["numpy"]


def test_demo_extra_has_what_the_demo_shows():
    extra = {
        re.split(r"[<>=!~ \[]", d)[0]
        for d in _pyproject()["project"]["optional-dependencies"]["demo"]
    }
    assert {"tqdm", "matplotlib"} <= extra  # the progress bar and the learning-curve plot
    demo = (ROOT / "ember" / "demo.py").read_text()
    for module in ("tqdm", "matplotlib"):
        assert f"import {module}" in demo or f"from {module} import" in demo


def test_quickstart_is_two_commands():
    first, second = _quickstart_commands()
    install, run = (part.strip() for part in first.split("&&"))
    assert install == "pip install '.[demo]'"
    assert run == "ember demo"
    assert second.startswith("pip install -e '.[test]'") and "pytest" in second
    scripts = _pyproject()["project"]["scripts"]
    assert scripts["ember"] == "ember.__main__:main"


def test_numpy_only_install_runs_without_ml_dtypes():
    """A plain install has no ml_dtypes (bfloat16's optional package): importing ember, the
    demo's training and the ops whose half-precision paths test for bfloat16 still work, and
    only bfloat16 itself asks for the extra."""
    import subprocess
    import sys

    code = """
import sys
sys.modules["ml_dtypes"] = None  # as if it were not installed
import ember, ember.nn.functional as F
x = ember.randn(8, 16)
x.sum(1); x.mean(); x.var(1); x.std(); x.norm(); x.logsumexp(1); x.cumsum(1)
ember.arange(5).logsumexp(0); ember.einsum("ij,kj->ik", x, x); ember.var_mean(x, 1)
F.softmax(x, 1); F.cross_entropy(x, ember.arange(8)); F.mse_loss(x, x * 2)
h = x.half()
h.sum(); h.var(); h @ h.T; F.avg_pool1d(h[None], 2); F.linear(h, h[:4], h[0, :4])
F.layer_norm(h, (16,), ember.ones(16), ember.zeros(16))
ember.randn(300_000)
try:
    x.to(ember.bfloat16)
except TypeError as e:
    assert "ml_dtypes" in str(e)
else:
    raise AssertionError("bfloat16 without ml_dtypes")
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
