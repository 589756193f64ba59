"""Fuzz the loaders with mutated valid files: each input loads or raises a clear error
(RuntimeError, ValueError or pickle.UnpicklingError), never another exception, a crash or a
hang. Bounded to about 18 seconds; prints how many inputs were tried."""

from __future__ import annotations

import io
import pickle
import random
import time
import warnings
import zipfile
from collections import OrderedDict

import pytest

import ember
from ember.safetensors import load as st_load

torch = pytest.importorskip("torch")

BAD = (RuntimeError, ValueError, pickle.UnpicklingError)
BUDGET_S = 18.0
RESULTS: dict[str, int] = {}


def _seeds() -> dict[str, bytes]:
    base = torch.arange(12.0).reshape(3, 4)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    obj = {
        "sd": net.state_dict(),
        "opt": opt.state_dict(),
        "v": base[1:, 1:],
        "t": base.t(),
        "p": torch.nn.Parameter(torch.ones(2)),
        "u": torch.zeros(2, dtype=torch.uint16),
        "meta": {
            "epoch": 3,
            "loss": 0.5,
            "s": torch.Size([2]),
            "d": torch.float16,
            "set": {1, 2},
            "c": 1 + 2j,
            "b": b"ab",
        },
    }
    tz = io.BytesIO()
    torch.save(obj, tz)
    tl = io.BytesIO()
    torch.save({"a": base, "v": base[1:], "n": 3}, tl, _use_new_zipfile_serialization=False)
    ez = io.BytesIO()
    sd = OrderedDict(w=ember.randn(2, 3), b=ember.arange(3), h=ember.ones(2, dtype=ember.bfloat16))
    sd._metadata = OrderedDict({"": {"version": 1}})
    ember.save({"sd": sd, "x": [1, 2.5, None, True]}, ez)
    st = ember.safetensors.save(
        {"a": ember.randn(3, 2), "b": ember.arange(4), "c": ember.ones(0)}, metadata={"k": "v"}
    )
    return {
        "torch_zip": tz.getvalue(),
        "legacy": tl.getvalue(),
        "ember_zip": ez.getvalue(),
        "safetensors": st,
    }


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        op = rng.random()
        if not b:
            break
        i = rng.randrange(len(b))
        if op < 0.55:
            b[i] = rng.randrange(256)
        elif op < 0.65:
            b[i] ^= 1 << rng.randrange(8)
        elif op < 0.75:
            del b[i : i + rng.choice((1, 2, 4, 8, 64))]
        elif op < 0.85:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.choice((1, 2, 4, 8))))
        elif op < 0.92:
            b = b[:i]
        else:  # an interesting integer
            v = rng.choice((0, 1, 0x7F, 0x80, 0xFF, 0x7FFFFFFF, 0xFFFFFFFF))
            b[i : i + 4] = v.to_bytes(4, "little")
    return bytes(b)


def _rezip(data: bytes, pkl: bytes) -> bytes:
    """The same archive with its data.pkl replaced (valid zip, mutated pickle)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for n in src.namelist():
            z.writestr(n, pkl if n.endswith("/data.pkl") else src.read(n))
    return out.getvalue()


def test_fuzz_loaders():
    seeds = _seeds()
    pkl = zipfile.ZipFile(io.BytesIO(seeds["torch_zip"])).read("archive/data.pkl")
    rng = random.Random(1234)
    targets = ["torch_zip", "pickle", "legacy", "ember_zip", "safetensors"]
    counts = dict.fromkeys(targets, 0)
    loaded = 0
    failures = []
    deadline = time.monotonic() + BUDGET_S
    n = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while time.monotonic() < deadline and n < 20000:
            target = targets[n % len(targets)]
            n += 1
            if target == "pickle":
                data = _rezip(seeds["torch_zip"], _mutate(rng, pkl))
            else:
                data = _mutate(rng, seeds[target])
            counts[target] += 1
            try:
                if target == "safetensors":
                    st_load(data)
                else:
                    ember.load(io.BytesIO(data))
                loaded += 1
            except BAD:
                pass
            except Exception as e:  # anything else is a bug
                failures.append((target, n, type(e).__name__, str(e)[:200]))
    RESULTS.update(counts)
    print(f"\nfuzz: {n} mutated inputs tried ({counts}); {loaded} loaded, the rest refused")
    assert not failures, failures[:5]
    assert n >= 1000
