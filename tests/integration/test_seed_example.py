"""The seed's program (examples/seed_regression.py) trains to a low validation loss."""

from __future__ import annotations

import importlib.util
import pathlib


def test_seed_regression_example_trains():
    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "seed_regression.py"
    spec = importlib.util.spec_from_file_location("seed_regression", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.main(epochs=12, verbose=False)
    assert res["history"][0] > res["best_valid"]
    assert res["best_valid"] < 0.01
    assert res["test"] < 0.02
