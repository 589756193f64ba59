"""Sparse COO and CSR tensors in torch's file format: ember writes what torch loads (also with
weights_only=True) and loads what torch writes."""

from __future__ import annotations

import io

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch

pytestmark = pytest.mark.filterwarnings("ignore:Sparse")  # torch's beta/invariant notices

A = np.array([[0, 1.5, 0], [2.0, 0, 0], [0, 0, -3.0]], np.float32)


def _ember_sparse(layout):
    s = ember.tensor(A).to_sparse()
    return s if layout == "coo" else s.to_sparse_csr()


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_ember_save_torch_load(layout):
    buf = io.BytesIO()
    e = _ember_sparse(layout)
    ember.save({"adj": e, "n": 3}, buf)
    buf.seek(0)
    got = torch.load(buf, weights_only=True)["adj"]
    assert got.layout == (torch.sparse_coo if layout == "coo" else torch.sparse_csr)
    np.testing.assert_array_equal(got.to_dense().numpy(), A)
    if layout == "coo":
        assert got.is_coalesced()
        np.testing.assert_array_equal(got._indices().numpy(), e._indices().numpy())


@pytest.mark.parametrize("layout", ["coo", "csr", "uncoalesced"])
def test_torch_save_ember_load(layout):
    if layout == "uncoalesced":
        t = torch.sparse_coo_tensor([[1, 0, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
    else:
        t = torch.tensor(A).to_sparse()
        t = t if layout == "coo" else t.to_sparse_csr()
    buf = io.BytesIO()
    torch.save([t], buf)
    buf.seek(0)
    (e,) = ember.load(buf)
    assert repr(e) == repr(t)
    np.testing.assert_array_equal(e.to_dense().numpy(), t.to_dense().numpy())
    # and back: ember's bytes load in torch as the same tensor
    out = io.BytesIO()
    ember.save(e, out)
    out.seek(0)
    back = torch.load(out, weights_only=True)
    assert repr(back) == repr(t)
