"""EfficientNet B0-B7 and V2 S/M/L: MBConv (and V2's fused MBConv) stages with squeeze-excitation,
SiLU and stochastic depth, scaled in width and depth."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import ember
from ember import Tensor, nn

from ..ops.misc import Conv2dNormActivation, SqueezeExcitation
from ..ops.stochastic_depth import StochasticDepth
from ._api import _make_divisible, _ovewrite_named_param, builder, finish, weights_enum

__all__ = [
    "EfficientNet",
    "EfficientNet_B0_Weights",
    "EfficientNet_B1_Weights",
    "EfficientNet_B2_Weights",
    "EfficientNet_B3_Weights",
    "EfficientNet_B4_Weights",
    "EfficientNet_B5_Weights",
    "EfficientNet_B6_Weights",
    "EfficientNet_B7_Weights",
    "EfficientNet_V2_S_Weights",
    "EfficientNet_V2_M_Weights",
    "EfficientNet_V2_L_Weights",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_v2_s",
    "efficientnet_v2_m",
    "efficientnet_v2_l",
]

_E = {
    v: f"EfficientNet_{v.upper()}_Weights" for v in ("b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7")
}
_E.update({v: f"EfficientNet_{v.upper()}_Weights" for v in ("v2_s", "v2_m", "v2_l")})
EfficientNet_B0_Weights = weights_enum(_E["b0"], "efficientnet_b0", __name__)
EfficientNet_B1_Weights = weights_enum(_E["b1"], "efficientnet_b1", __name__)
EfficientNet_B2_Weights = weights_enum(_E["b2"], "efficientnet_b2", __name__)
EfficientNet_B3_Weights = weights_enum(_E["b3"], "efficientnet_b3", __name__)
EfficientNet_B4_Weights = weights_enum(_E["b4"], "efficientnet_b4", __name__)
EfficientNet_B5_Weights = weights_enum(_E["b5"], "efficientnet_b5", __name__)
EfficientNet_B6_Weights = weights_enum(_E["b6"], "efficientnet_b6", __name__)
EfficientNet_B7_Weights = weights_enum(_E["b7"], "efficientnet_b7", __name__)
EfficientNet_V2_S_Weights = weights_enum(_E["v2_s"], "efficientnet_v2_s", __name__)
EfficientNet_V2_M_Weights = weights_enum(_E["v2_m"], "efficientnet_v2_m", __name__)
EfficientNet_V2_L_Weights = weights_enum(_E["v2_l"], "efficientnet_v2_l", __name__)


@dataclass
class _MBConvConfig:
    expand_ratio: float
    kernel: int
    stride: int
    input_channels: int
    out_channels: int
    num_layers: int
    block: Callable[..., nn.Module]

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None) -> int:
        return _make_divisible(channels * width_mult, 8, min_value)


class MBConvConfig(_MBConvConfig):
    """A stage of MBConv blocks, its widths and depth scaled."""

    def __init__(
        self,
        expand_ratio: float,
        kernel: int,
        stride: int,
        input_channels: int,
        out_channels: int,
        num_layers: int,
        width_mult: float = 1.0,
        depth_mult: float = 1.0,
        block: Callable[..., nn.Module] | None = None,
    ):
        input_channels = self.adjust_channels(input_channels, width_mult)
        out_channels = self.adjust_channels(out_channels, width_mult)
        num_layers = int(math.ceil(num_layers * depth_mult))
        super().__init__(
            expand_ratio, kernel, stride, input_channels, out_channels, num_layers, block or MBConv
        )

    @staticmethod
    def adjust_depth(num_layers: int, depth_mult: float) -> int:
        return int(math.ceil(num_layers * depth_mult))


class FusedMBConvConfig(_MBConvConfig):
    """A stage of fused MBConv blocks (EfficientNetV2)."""

    def __init__(
        self,
        expand_ratio: float,
        kernel: int,
        stride: int,
        input_channels: int,
        out_channels: int,
        num_layers: int,
        block: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__(
            expand_ratio,
            kernel,
            stride,
            input_channels,
            out_channels,
            num_layers,
            block or FusedMBConv,
        )


class MBConv(nn.Module):
    """Expand (1x1), depthwise kxk, SE, project (1x1); stochastic depth on the residual."""

    def __init__(
        self,
        cnf: MBConvConfig,
        stochastic_depth_prob: float,
        norm_layer: Callable[..., nn.Module],
        se_layer: Callable[..., nn.Module] = SqueezeExcitation,
    ) -> None:
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers: list[nn.Module] = []
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded != cnf.input_channels:
            layers.append(
                Conv2dNormActivation(
                    cnf.input_channels,
                    expanded,
                    kernel_size=1,
                    norm_layer=norm_layer,
                    activation_layer=nn.SiLU,
                )
            )
        layers.append(
            Conv2dNormActivation(
                expanded,
                expanded,
                kernel_size=cnf.kernel,
                stride=cnf.stride,
                groups=expanded,
                norm_layer=norm_layer,
                activation_layer=nn.SiLU,
            )
        )
        squeeze = max(1, cnf.input_channels // 4)
        layers.append(se_layer(expanded, squeeze, activation=partial(nn.SiLU, inplace=True)))
        layers.append(
            Conv2dNormActivation(
                expanded,
                cnf.out_channels,
                kernel_size=1,
                norm_layer=norm_layer,
                activation_layer=None,
            )
        )
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + input
        return result


class FusedMBConv(nn.Module):
    """A full kxk conv in place of expand + depthwise (EfficientNetV2's early stages)."""

    def __init__(
        self,
        cnf: FusedMBConvConfig,
        stochastic_depth_prob: float,
        norm_layer: Callable[..., nn.Module],
    ) -> None:
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        layers: list[nn.Module] = []
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded != cnf.input_channels:
            layers.append(
                Conv2dNormActivation(
                    cnf.input_channels,
                    expanded,
                    kernel_size=cnf.kernel,
                    stride=cnf.stride,
                    norm_layer=norm_layer,
                    activation_layer=nn.SiLU,
                )
            )
            layers.append(
                Conv2dNormActivation(
                    expanded,
                    cnf.out_channels,
                    kernel_size=1,
                    norm_layer=norm_layer,
                    activation_layer=None,
                )
            )
        else:
            layers.append(
                Conv2dNormActivation(
                    cnf.input_channels,
                    cnf.out_channels,
                    kernel_size=cnf.kernel,
                    stride=cnf.stride,
                    norm_layer=norm_layer,
                    activation_layer=nn.SiLU,
                )
            )
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + input
        return result


class EfficientNet(nn.Module):
    """A stem, the stages (stochastic depth growing linearly with block index), a 1x1 head."""

    def __init__(
        self,
        inverted_residual_setting: Sequence[MBConvConfig | FusedMBConvConfig],
        dropout: float,
        stochastic_depth_prob: float = 0.2,
        num_classes: int = 1000,
        norm_layer: Callable[..., nn.Module] | None = None,
        last_channel: int | None = None,
    ) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not (
            isinstance(inverted_residual_setting, Sequence)
            and all(isinstance(s, _MBConvConfig) for s in inverted_residual_setting)
        ):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        norm_layer = norm_layer or nn.BatchNorm2d
        first = inverted_residual_setting[0].input_channels
        layers: list[nn.Module] = [
            Conv2dNormActivation(
                3, first, kernel_size=3, stride=2, norm_layer=norm_layer, activation_layer=nn.SiLU
            )
        ]
        total = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:  # later blocks of a stage keep the width and stride 1
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(block_id) / total
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = inverted_residual_setting[-1].out_channels
        last_out = last_channel if last_channel is not None else 4 * last_in
        layers.append(
            Conv2dNormActivation(
                last_in, last_out, kernel_size=1, norm_layer=norm_layer, activation_layer=nn.SiLU
            )
        )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout, inplace=True), nn.Linear(last_out, num_classes)
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init_range = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -init_range, init_range)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(ember.flatten(self.avgpool(self.features(x)), 1))


def _efficientnet_conf(arch: str, **kwargs: Any):
    if arch.startswith("efficientnet_b"):
        c = partial(
            MBConvConfig, width_mult=kwargs.pop("width_mult"), depth_mult=kwargs.pop("depth_mult")
        )
        setting = [
            c(1, 3, 1, 32, 16, 1),
            c(6, 3, 2, 16, 24, 2),
            c(6, 5, 2, 24, 40, 2),
            c(6, 3, 2, 40, 80, 3),
            c(6, 5, 1, 80, 112, 3),
            c(6, 5, 2, 112, 192, 4),
            c(6, 3, 1, 192, 320, 1),
        ]
        return setting, None
    f, m = FusedMBConvConfig, MBConvConfig
    if arch.startswith("efficientnet_v2_s"):
        setting = [
            f(1, 3, 1, 24, 24, 2),
            f(4, 3, 2, 24, 48, 4),
            f(4, 3, 2, 48, 64, 4),
            m(4, 3, 2, 64, 128, 6),
            m(6, 3, 1, 128, 160, 9),
            m(6, 3, 2, 160, 256, 15),
        ]
    elif arch.startswith("efficientnet_v2_m"):
        setting = [
            f(1, 3, 1, 24, 24, 3),
            f(4, 3, 2, 24, 48, 5),
            f(4, 3, 2, 48, 80, 5),
            m(4, 3, 2, 80, 160, 7),
            m(6, 3, 1, 160, 176, 14),
            m(6, 3, 2, 176, 304, 18),
            m(6, 3, 1, 304, 512, 5),
        ]
    elif arch.startswith("efficientnet_v2_l"):
        setting = [
            f(1, 3, 1, 32, 32, 4),
            f(4, 3, 2, 32, 64, 7),
            f(4, 3, 2, 64, 96, 7),
            m(4, 3, 2, 96, 192, 10),
            m(6, 3, 1, 192, 224, 19),
            m(6, 3, 2, 224, 384, 25),
            m(6, 3, 1, 384, 640, 7),
        ]
    else:
        raise ValueError(f"Unsupported model type {arch}")
    return setting, 1280


def _efficientnet(
    arch: str, dropout: float, weights, progress: bool, conf: dict, norm_layer=None, **kwargs: Any
) -> EfficientNet:
    setting, last_channel = _efficientnet_conf(arch, **conf)
    if weights is not None:
        _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
    if norm_layer is not None:
        kwargs["norm_layer"] = norm_layer
    dropout = kwargs.pop("dropout", dropout)
    model = EfficientNet(setting, dropout, last_channel=last_channel, **kwargs)
    return finish(model, weights, progress)


_BN_B5 = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)  # b5-b7 (ported TF weights)
_BN_V2 = partial(nn.BatchNorm2d, eps=1e-03)


def _b(arch: str, w: float, d: float, dropout: float, weights, progress, norm=None, **kw):
    conf = {"width_mult": w, "depth_mult": d}
    return _efficientnet(arch, dropout, weights, progress, conf, norm, **kw)


@builder("efficientnet_b0", EfficientNet_B0_Weights)
def efficientnet_b0(*, weights=None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B0."""
    return _b("efficientnet_b0", 1.0, 1.0, 0.2, weights, progress, **kwargs)


@builder("efficientnet_b1", EfficientNet_B1_Weights)
def efficientnet_b1(*, weights=None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B1."""
    return _b("efficientnet_b1", 1.0, 1.1, 0.2, weights, progress, **kwargs)


@builder("efficientnet_b2", EfficientNet_B2_Weights)
def efficientnet_b2(*, weights=None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B2."""
    return _b("efficientnet_b2", 1.1, 1.2, 0.3, weights, progress, **kwargs)


@builder("efficientnet_b3", EfficientNet_B3_Weights)
def efficientnet_b3(*, weights=None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B3."""
    return _b("efficientnet_b3", 1.2, 1.4, 0.3, weights, progress, **kwargs)


@builder("efficientnet_b4", EfficientNet_B4_Weights)
def efficientnet_b4(*, weights=None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B4."""
    return _b("efficientnet_b4", 1.4, 1.8, 0.4, weights, progress, **kwargs)


@builder("efficientnet_b5", EfficientNet_B5_Weights)
def efficientnet_b5(*, weights=None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B5."""
    return _b("efficientnet_b5", 1.6, 2.2, 0.4, weights, progress, _BN_B5, **kwargs)


@builder("efficientnet_b6", EfficientNet_B6_Weights)
def efficientnet_b6(*, weights=None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B6."""
    return _b("efficientnet_b6", 1.8, 2.6, 0.5, weights, progress, _BN_B5, **kwargs)


@builder("efficientnet_b7", EfficientNet_B7_Weights)
def efficientnet_b7(*, weights=None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNet-B7."""
    return _b("efficientnet_b7", 2.0, 3.1, 0.5, weights, progress, _BN_B5, **kwargs)


@builder("efficientnet_v2_s", EfficientNet_V2_S_Weights)
def efficientnet_v2_s(*, weights=None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNetV2-S."""
    return _efficientnet("efficientnet_v2_s", 0.2, weights, progress, {}, _BN_V2, **kwargs)


@builder("efficientnet_v2_m", EfficientNet_V2_M_Weights)
def efficientnet_v2_m(*, weights=None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNetV2-M."""
    return _efficientnet("efficientnet_v2_m", 0.3, weights, progress, {}, _BN_V2, **kwargs)


@builder("efficientnet_v2_l", EfficientNet_V2_L_Weights)
def efficientnet_v2_l(*, weights=None, progress: bool = True, **kwargs: Any) -> EfficientNet:
    """EfficientNetV2-L."""
    return _efficientnet("efficientnet_v2_l", 0.4, weights, progress, {}, _BN_V2, **kwargs)
