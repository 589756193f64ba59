"""TORCH_FORCE_WEIGHTS_ONLY_LOAD / TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD: ember.load honours them as
torch.load does (the time-series example loads a pickled NumPy array this way)."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

ON = "TORCH_FORCE_WEIGHTS_ONLY_LOAD"
OFF = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"


@pytest.fixture
def numpy_file(tmp_path):
    path = tmp_path / "series.pt"
    torch.save(np.arange(12.0).reshape(3, 4), path)
    return path


def _outcome(load, path, **kw):
    """(value or exception type, the UserWarnings' messages) of one load."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = load(path, **kw)
        except Exception as e:  # noqa: BLE001  (the type is what is compared)
            value = type(e)
    msgs = [str(w.message) for w in caught if "WEIGHTS_ONLY" in str(w.message)]
    return value, msgs


def _same(e, t):
    if isinstance(t, type):
        assert e is t or (issubclass(t, pickle.UnpicklingError) and issubclass(e, t)), (e, t)
    else:
        assert isinstance(e, np.ndarray) and np.array_equal(e, t)


ENVS = [
    {},
    {OFF: "1"},
    {OFF: "true"},
    {OFF: "YES"},
    {OFF: "y"},
    {OFF: "0"},
    {OFF: "on"},  # not one of torch's true values: ignored
    {ON: "1"},
    {ON: "1", OFF: "0"},
    {ON: "1", OFF: "1"},  # both: RuntimeError
]
KWARGS = [{}, {"weights_only": True}, {"weights_only": False}]


@pytest.mark.parametrize("env", ENVS, ids=lambda e: ",".join(f"{k[6:]}={v}" for k, v in e.items()))
@pytest.mark.parametrize("kw", KWARGS, ids=lambda k: str(k.get("weights_only", "unset")))
def test_env_variables_like_torch(numpy_file, monkeypatch, env, kw):
    monkeypatch.delenv(ON, raising=False)
    monkeypatch.delenv(OFF, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    t_val, t_warn = _outcome(torch.load, numpy_file, **kw)
    e_val, e_warn = _outcome(ember.load, numpy_file, **kw)
    _same(e_val, t_val)
    assert e_warn == t_warn


def test_no_weights_only_env_loads_numpy(numpy_file, monkeypatch):
    """The time-series example: the variable alone makes a plain load succeed, with a warning."""
    monkeypatch.delenv(ON, raising=False)
    monkeypatch.setenv(OFF, "1")
    with pytest.warns(UserWarning, match="TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected"):
        arr = ember.load(numpy_file)
    np.testing.assert_array_equal(arr, np.arange(12.0).reshape(3, 4))
    monkeypatch.delenv(OFF)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        ember.load(numpy_file)


def test_both_set_message(numpy_file, monkeypatch):
    monkeypatch.setenv(ON, "true")
    monkeypatch.setenv(OFF, "true")
    with pytest.raises(RuntimeError) as et:
        torch.load(numpy_file)
    with pytest.raises(RuntimeError) as ee:
        ember.load(numpy_file)
    assert str(ee.value) == str(et.value)


def test_pickle_module_defaults_to_full_unpickling(numpy_file, monkeypatch):
    """torch: an explicit pickle_module with weights_only unset means weights_only=False."""
    monkeypatch.delenv(ON, raising=False)
    monkeypatch.delenv(OFF, raising=False)
    arr = ember.load(numpy_file, pickle_module=pickle)
    np.testing.assert_array_equal(arr, torch.load(numpy_file, pickle_module=pickle))
    monkeypatch.setenv(ON, "1")
    with pytest.raises(RuntimeError, match="explicit pickle_module"):
        torch.load(numpy_file, pickle_module=pickle)
    with pytest.raises(RuntimeError, match="explicit pickle_module"):
        ember.load(numpy_file, pickle_module=pickle)
