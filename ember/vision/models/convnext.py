"""ConvNeXt tiny/small/base/large: depthwise 7x7 conv, LayerNorm, an inverted MLP, layer scale
and stochastic depth per block; downsampling between stages by LayerNorm + 2x2 strided conv."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import ember
import ember.nn.functional as F
from ember import Tensor, nn

from ..ops.misc import Conv2dNormActivation, Permute
from ..ops.stochastic_depth import StochasticDepth
from ._api import _ovewrite_named_param, builder, finish, weights_enum

__all__ = [
    "ConvNeXt",
    "ConvNeXt_Tiny_Weights",
    "ConvNeXt_Small_Weights",
    "ConvNeXt_Base_Weights",
    "ConvNeXt_Large_Weights",
    "convnext_tiny",
    "convnext_small",
    "convnext_base",
    "convnext_large",
]

ConvNeXt_Tiny_Weights = weights_enum("ConvNeXt_Tiny_Weights", "convnext_tiny", __name__)
ConvNeXt_Small_Weights = weights_enum("ConvNeXt_Small_Weights", "convnext_small", __name__)
ConvNeXt_Base_Weights = weights_enum("ConvNeXt_Base_Weights", "convnext_base", __name__)
ConvNeXt_Large_Weights = weights_enum("ConvNeXt_Large_Weights", "convnext_large", __name__)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor."""

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """x + drop_path(gamma * MLP(LN(dwconv7x7(x))))."""

    def __init__(
        self,
        dim: int,
        layer_scale: float,
        stochastic_depth_prob: float,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            norm_layer(dim),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(ember.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input: Tensor) -> Tensor:
        return self.stochastic_depth(self.layer_scale * self.block(input)) + input


class CNBlockConfig:
    """A stage: its width, the next stage's width (None for the last) and its depth."""

    def __init__(self, input_channels: int, out_channels: int | None, num_layers: int) -> None:
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(input_channels={self.input_channels}, "
            f"out_channels={self.out_channels}, num_layers={self.num_layers})"
        )


class ConvNeXt(nn.Module):
    """A 4x4 patchify stem, the stages with their downsamplers, pool, LayerNorm, linear head."""

    def __init__(
        self,
        block_setting: list[CNBlockConfig],
        stochastic_depth_prob: float = 0.0,
        layer_scale: float = 1e-6,
        num_classes: int = 1000,
        block: Callable[..., nn.Module] | None = None,
        norm_layer: Callable[..., nn.Module] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        if not (
            isinstance(block_setting, Sequence)
            and all(isinstance(s, CNBlockConfig) for s in block_setting)
        ):
            raise TypeError("The block_setting should be List[CNBlockConfig]")
        block = block or CNBlock
        norm_layer = norm_layer or partial(LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [
            Conv2dNormActivation(
                3,
                block_setting[0].input_channels,
                kernel_size=4,
                stride=4,
                padding=0,
                norm_layer=norm_layer,
                activation_layer=None,
                bias=True,
            )
        ]
        total = sum(cnf.num_layers for cnf in block_setting)
        block_id = 0
        for cnf in block_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                sd_prob = stochastic_depth_prob * block_id / (total - 1.0)
                stage.append(block(cnf.input_channels, layer_scale, sd_prob))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                layers.append(
                    nn.Sequential(
                        norm_layer(cnf.input_channels),
                        nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2),
                    )
                )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        last_out = last.out_channels if last.out_channels is not None else last.input_channels
        self.classifier = nn.Sequential(
            norm_layer(last_out), nn.Flatten(1), nn.Linear(last_out, num_classes)
        )
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)))


def _convnext(setting, sd_prob: float, weights, progress: bool, **kwargs: Any) -> ConvNeXt:
    if weights is not None:
        _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
    sd_prob = kwargs.pop("stochastic_depth_prob", sd_prob)
    model = ConvNeXt(setting, stochastic_depth_prob=sd_prob, **kwargs)
    return finish(model, weights, progress)


def _setting(widths: tuple[int, int, int, int], depths: tuple[int, int, int, int]):
    outs = (*widths[1:], None)
    return [CNBlockConfig(w, o, d) for w, o, d in zip(widths, outs, depths)]


@builder("convnext_tiny", ConvNeXt_Tiny_Weights)
def convnext_tiny(*, weights=None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Tiny."""
    return _convnext(_setting((96, 192, 384, 768), (3, 3, 9, 3)), 0.1, weights, progress, **kwargs)


@builder("convnext_small", ConvNeXt_Small_Weights)
def convnext_small(*, weights=None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Small."""
    return _convnext(_setting((96, 192, 384, 768), (3, 3, 27, 3)), 0.4, weights, progress, **kwargs)


@builder("convnext_base", ConvNeXt_Base_Weights)
def convnext_base(*, weights=None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Base."""
    return _convnext(
        _setting((128, 256, 512, 1024), (3, 3, 27, 3)), 0.5, weights, progress, **kwargs
    )


@builder("convnext_large", ConvNeXt_Large_Weights)
def convnext_large(*, weights=None, progress: bool = True, **kwargs: Any) -> ConvNeXt:
    """ConvNeXt-Large."""
    return _convnext(
        _setting((192, 384, 768, 1536), (3, 3, 27, 3)), 0.5, weights, progress, **kwargs
    )
