"""Box-list helpers shared by roi_align and roi_pool."""

from __future__ import annotations

import ember
from ember import Tensor


def convert_boxes_to_roi_format(boxes: list[Tensor]) -> Tensor:
    """A list of per-image boxes [L, 4] as one [K, 5] tensor with the image index first."""
    concat = ember.cat(list(boxes), dim=0)
    ids = ember.cat(
        [ember.full_like(b[:, :1], i) for i, b in enumerate(boxes)],
        dim=0,
    )
    return ember.cat([ids, concat], dim=1)


def check_roi_boxes_shape(boxes) -> None:
    if isinstance(boxes, (list, tuple)):
        for t in boxes:
            if t.size(1) != 4:
                raise AssertionError(
                    "The shape of the tensor in the boxes list is not correct as List[Tensor[L, 4]]"
                )
    elif isinstance(boxes, Tensor):
        if boxes.size(1) != 5:
            raise AssertionError("The boxes tensor shape is not correct as Tensor[K, 5]")
    else:
        raise AssertionError("boxes is expected to be a Tensor[L, 5] or a List[Tensor[K, 4]]")


def rois_of(boxes) -> Tensor:
    check_roi_boxes_shape(boxes)
    return boxes if isinstance(boxes, Tensor) else convert_boxes_to_roi_format(boxes)


def pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))
