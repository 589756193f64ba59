"""nn.utils.convert_conv2d/3d_weight_memory_format as torch: the module back, weights unchanged in
value, torch's rank errors."""

from __future__ import annotations

import pytest

import ember
from tests._support.torch_ref import assert_same, torch


def _pair(lib):
    lib.manual_seed(0)
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(2, 3, 3),
        nn.Sequential(nn.ConvTranspose2d(3, 2, 2), nn.ReLU()),
        nn.Conv3d(1, 2, 1),
        nn.ConvTranspose3d(2, 1, 1),
        nn.Linear(2, 2),
    )


def test_conv2d_weights_converted_in_place_of_the_module():
    e, t = _pair(ember), _pair(torch)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    params = [p for p in e.parameters()]
    before = {k: v.clone() for k, v in e.state_dict().items()}
    re = ember.nn.utils.convert_conv2d_weight_memory_format(e, ember.channels_last)
    rt = torch.nn.utils.convert_conv2d_weight_memory_format(t, torch.channels_last)
    assert re is e and rt is t
    assert [p for p in e.parameters()] == params  # the same Parameter objects
    for k, v in e.state_dict().items():
        assert_same(v, t.state_dict()[k], 0, 0)
        assert_same(v, torch.tensor(before[k].numpy()), 0, 0)
    x = torch.randn(1, 2, 6, 6)
    assert_same(e[1](e[0](ember.tensor(x.numpy()))), t[1](t[0](x)), 1e-5, 1e-6)


def test_conv3d_and_contiguous_format():
    e, t = _pair(ember), _pair(torch)
    assert ember.nn.utils.convert_conv3d_weight_memory_format(e, ember.contiguous_format) is e
    assert torch.nn.utils.convert_conv3d_weight_memory_format(t, torch.contiguous_format) is t
    assert e[2].weight.is_contiguous()


@pytest.mark.parametrize("which", ["2d", "3d"])
def test_rank_and_type_errors_match_torch(which):
    e, t = _pair(ember), _pair(torch)
    name = f"convert_conv{which}_weight_memory_format"
    # channels_last on 5-d weights (3d), and on 4-d weights for 2d after a wrong format type
    fmt_e, fmt_t = (ember.channels_last, torch.channels_last)
    if which == "3d":
        with pytest.raises(RuntimeError) as te:
            getattr(torch.nn.utils, name)(t, fmt_t)
        with pytest.raises(RuntimeError) as ee:
            getattr(ember.nn.utils, name)(e, fmt_e)
        assert str(ee.value) == str(te.value)
    with pytest.raises(TypeError) as te:
        getattr(torch.nn.utils, name)(t, "channels_last")
    with pytest.raises(TypeError) as ee:
        getattr(ember.nn.utils, name)(e, "channels_last")
    assert str(ee.value) == str(te.value)
