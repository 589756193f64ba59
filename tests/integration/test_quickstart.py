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
