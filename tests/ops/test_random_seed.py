"""The default generator's seed at start: drawn from the OS as in torch 2.13, so two unseeded runs
differ, while ``manual_seed`` and a new ``Generator()`` stay reproducible."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import ember
from tests._support.torch_ref import torch

ROOT = os.path.dirname(os.path.dirname(ember.__file__))

PROBE = """
import json, sys
import {lib} as t
if len(sys.argv) > 1:
    t.manual_seed(int(sys.argv[1]))
print(json.dumps([t.initial_seed(), t.rand(3).tolist(), t.Generator().initial_seed()]))
"""

LOADER = """
import json, sys
import ember
from ember.utils.data import DataLoader, get_worker_info

class Seeds:
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return ember.tensor(float(get_worker_info().seed % 1000003))

if len(sys.argv) > 1:
    ember.manual_seed(int(sys.argv[1]))
loader = DataLoader(Seeds(), batch_size=1, num_workers=2)
print(json.dumps(sorted(b.item() for b in loader)))
"""


def _run(code: str, *args: str):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_unseeded_runs_differ_like_torch():
    for lib in ("torch", "ember"):
        a = _run(PROBE.format(lib=lib))
        b = _run(PROBE.format(lib=lib))
        assert a[0] != b[0], lib  # initial_seed differs between fresh processes
        assert a[1] != b[1], lib  # and so do the numbers
        assert 0 <= a[0] < 2**64
        # a new Generator() starts from torch's fixed default seed in both
        assert a[2] == b[2] == torch.Generator().initial_seed()


def test_manual_seed_is_reproducible_across_processes():
    a = _run(PROBE.format(lib="ember"), "123")
    b = _run(PROBE.format(lib="ember"), "123")
    assert a == b and a[0] == 123


def test_dataloader_worker_seeds_follow_the_default_generator():
    """Workers' seeds come from the default generator: fixed by manual_seed, else fresh."""
    seeded = [_run(LOADER, "7") for _ in range(2)]
    assert seeded[0] == seeded[1]
    fresh = [_run(LOADER) for _ in range(2)]
    assert fresh[0] != fresh[1]


def test_seed_returns_the_new_initial_seed():
    s = ember.seed()
    assert ember.initial_seed() == s
    x = ember.rand(2)
    ember.manual_seed(s)
    assert ember.rand(2).tolist() == x.tolist()
