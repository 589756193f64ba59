"""VGG 11/13/16/19, with and without batch norm."""

from __future__ import annotations

from typing import Any

from ember import Tensor, nn

from ._api import _ovewrite_named_param, builder, finish, weights_enum

__all__ = [
    "VGG",
    "VGG11_Weights",
    "VGG11_BN_Weights",
    "VGG13_Weights",
    "VGG13_BN_Weights",
    "VGG16_Weights",
    "VGG16_BN_Weights",
    "VGG19_Weights",
    "VGG19_BN_Weights",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]

VGG11_Weights = weights_enum("VGG11_Weights", "vgg11", __name__)
VGG11_BN_Weights = weights_enum("VGG11_BN_Weights", "vgg11_bn", __name__)
VGG13_Weights = weights_enum("VGG13_Weights", "vgg13", __name__)
VGG13_BN_Weights = weights_enum("VGG13_BN_Weights", "vgg13_bn", __name__)
VGG16_Weights = weights_enum("VGG16_Weights", "vgg16", __name__)
VGG16_BN_Weights = weights_enum("VGG16_BN_Weights", "vgg16_bn", __name__)
VGG19_Weights = weights_enum("VGG19_Weights", "vgg19", __name__)
VGG19_BN_Weights = weights_enum("VGG19_BN_Weights", "vgg19_bn", __name__)


class VGG(nn.Module):
    """Convolutional ``features``, a 7x7 adaptive average pool, a 3-layer classifier."""

    def __init__(
        self,
        features: nn.Module,
        num_classes: int = 1000,
        init_weights: bool = True,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def make_layers(cfg: list, batch_norm: bool = False) -> nn.Sequential:
    """3x3 convs (+BN) + ReLU for each width in ``cfg``, a 2x2 max pool for each "M"."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


cfgs: dict[str, list] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M"] + [256] * 4 + ["M"] + [512] * 4 + ["M"] + [512] * 4 + ["M"],
}


def _vgg(cfg: str, batch_norm: bool, weights, progress: bool, **kwargs: Any) -> VGG:
    if weights is not None:
        kwargs["init_weights"] = False
        if weights.meta["categories"] is not None:
            _ovewrite_named_param(kwargs, "num_classes", len(weights.meta["categories"]))
    model = VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)
    return finish(model, weights, progress)


@builder("vgg11", VGG11_Weights)
def vgg11(*, weights=None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 (configuration "A")."""
    return _vgg("A", False, weights, progress, **kwargs)


@builder("vgg11_bn", VGG11_BN_Weights)
def vgg11_bn(*, weights=None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-11 with batch norm."""
    return _vgg("A", True, weights, progress, **kwargs)


@builder("vgg13", VGG13_Weights)
def vgg13(*, weights=None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-13 (configuration "B")."""
    return _vgg("B", False, weights, progress, **kwargs)


@builder("vgg13_bn", VGG13_BN_Weights)
def vgg13_bn(*, weights=None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-13 with batch norm."""
    return _vgg("B", True, weights, progress, **kwargs)


@builder("vgg16", VGG16_Weights)
def vgg16(*, weights=None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 (configuration "D")."""
    return _vgg("D", False, weights, progress, **kwargs)


@builder("vgg16_bn", VGG16_BN_Weights)
def vgg16_bn(*, weights=None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-16 with batch norm."""
    return _vgg("D", True, weights, progress, **kwargs)


@builder("vgg19", VGG19_Weights)
def vgg19(*, weights=None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-19 (configuration "E")."""
    return _vgg("E", False, weights, progress, **kwargs)


@builder("vgg19_bn", VGG19_BN_Weights)
def vgg19_bn(*, weights=None, progress: bool = True, **kwargs: Any) -> VGG:
    """VGG-19 with batch norm."""
    return _vgg("E", True, weights, progress, **kwargs)
