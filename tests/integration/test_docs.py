"""Every example in docs/*.md and README.md runs: plain blocks execute, `>>>` blocks must match."""

from __future__ import annotations

import doctest
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))) + [os.path.join(ROOT, "README.md")]
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def blocks(path: str) -> list[tuple[int, str]]:
    """(line number, code) of each fenced python block in a markdown file."""
    text = open(path, encoding="utf-8").read()
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in FENCE.finditer(text)]


def test_every_page_has_examples():
    for page in PAGES:
        if os.path.basename(page) not in ("README.md",):
            assert blocks(page), f"{page} has no runnable example"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: os.path.relpath(p, ROOT))
def test_page_examples_run(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # pages may write files (checkpoints, logs)
    namespace: dict = {"__name__": "__docs__"}
    parser, name = doctest.DocTestParser(), os.path.relpath(page, ROOT)
    for line, code in blocks(page):
        where = f"{name}:{line}"
        if code.lstrip().startswith(">>>"):
            test = parser.get_doctest(code, namespace, where, page, line)
            runner = doctest.DocTestRunner(optionflags=FLAGS)
            runner.run(test, clear_globs=False)
            namespace.update(test.globs)  # DocTest works on a copy; later blocks build on it
            failed = runner.summarize(verbose=False).failed
            report = capsys.readouterr().out
            assert failed == 0, f"doctest failures in {where}:\n{report}"
        else:
            exec(compile(code, where, "exec"), namespace)
