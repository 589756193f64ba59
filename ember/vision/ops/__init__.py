"""torchvision.ops on ember: box utilities, RoI pooling, focal loss and the models' layers."""

from __future__ import annotations

from ember.vision.ops.boxes import (
    batched_nms,
    box_area,
    box_convert,
    box_iou,
    clip_boxes_to_image,
    generalized_box_iou,
    nms,
    remove_small_boxes,
)
from ember.vision.ops.focal_loss import sigmoid_focal_loss
from ember.vision.ops.misc import (
    MLP,
    Conv2dNormActivation,
    Conv3dNormActivation,
    FrozenBatchNorm2d,
    Permute,
    SqueezeExcitation,
)
from ember.vision.ops.roi_align import RoIAlign, roi_align
from ember.vision.ops.roi_pool import RoIPool, roi_pool
from ember.vision.ops.stochastic_depth import StochasticDepth, stochastic_depth

__all__ = [
    "batched_nms",
    "box_area",
    "box_convert",
    "box_iou",
    "clip_boxes_to_image",
    "generalized_box_iou",
    "nms",
    "remove_small_boxes",
    "sigmoid_focal_loss",
    "MLP",
    "Conv2dNormActivation",
    "Conv3dNormActivation",
    "FrozenBatchNorm2d",
    "Permute",
    "SqueezeExcitation",
    "RoIAlign",
    "roi_align",
    "RoIPool",
    "roi_pool",
    "StochasticDepth",
    "stochastic_depth",
]
