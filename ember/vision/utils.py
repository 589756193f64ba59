"""torchvision.utils on ember: image grids, saving, drawing boxes, masks and keypoints.

Drawing goes through Pillow (the ``ember[vision]`` extra), as torchvision's does.
"""

from __future__ import annotations

import math
import pathlib
import warnings
from typing import Any, BinaryIO

import numpy as np

import ember
from ember.vision._backend import require_pil
from ember.vision.transforms.functional import convert_image_dtype, pil_to_tensor

__all__ = [
    "make_grid",
    "save_image",
    "draw_bounding_boxes",
    "draw_segmentation_masks",
    "draw_keypoints",
]


def make_grid(
    tensor: ember.Tensor | list[ember.Tensor],
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple[float, float] | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
) -> ember.Tensor:
    """Tile a batch [B, C, H, W] (or a list of images) into one image, ``nrow`` per row."""
    if not isinstance(tensor, ember.Tensor):
        if isinstance(tensor, list):
            for t in tensor:
                if not isinstance(t, ember.Tensor):
                    raise TypeError(
                        f"tensor or list of tensors expected, got a list containing {type(t)}"
                    )
        else:
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    with ember.no_grad():
        if isinstance(tensor, list):
            tensor = ember.stack(tensor, dim=0)
        if tensor.dim() == 2:
            tensor = tensor.unsqueeze(0)
        if tensor.dim() == 3:
            if tensor.size(0) == 1:
                tensor = ember.cat((tensor, tensor, tensor), 0)
            tensor = tensor.unsqueeze(0)
        if tensor.dim() == 4 and tensor.size(1) == 1:
            tensor = ember.cat((tensor, tensor, tensor), 1)
        if normalize is True:
            tensor = tensor.clone()
            if value_range is not None and not isinstance(value_range, tuple):
                raise TypeError(
                    "value_range has to be a tuple (min, max) if specified. min and max are numbers"
                )

            def norm_ip(img: ember.Tensor, low: float, high: float) -> None:
                img.clamp_(min=low, max=high)
                img.sub_(low).div_(max(high - low, 1e-5))

            def norm_range(t: ember.Tensor) -> None:
                if value_range is not None:
                    norm_ip(t, value_range[0], value_range[1])
                else:
                    norm_ip(t, float(t.min()), float(t.max()))

            if scale_each is True:
                for t in tensor:
                    norm_range(t)
            else:
                norm_range(tensor)
        if tensor.size(0) == 1:
            return tensor.squeeze(0)
        nmaps = tensor.size(0)
        xmaps = min(nrow, nmaps)
        ymaps = int(math.ceil(float(nmaps) / xmaps))
        height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
        channels = tensor.size(1)
        grid = tensor.new_full(
            (channels, height * ymaps + padding, width * xmaps + padding), pad_value
        )
        k = 0
        for y in range(ymaps):
            for x in range(xmaps):
                if k >= nmaps:
                    break
                top = y * height + padding
                left = x * width + padding
                grid[:, top : top + height - padding, left : left + width - padding] = tensor[k]
                k += 1
        return grid


def save_image(
    tensor: ember.Tensor | list[ember.Tensor],
    fp: str | pathlib.Path | BinaryIO,
    format: str | None = None,
    **kwargs: Any,
) -> None:
    """make_grid, scale [0, 1] to uint8 (rounding), and save with Pillow."""
    image = require_pil()
    grid = make_grid(tensor, **kwargs)
    with ember.no_grad():
        scaled = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0)
        ndarr = scaled.to("cpu", ember.uint8).numpy()
    image.fromarray(np.ascontiguousarray(ndarr)).save(fp, format=format)


def _palette(num_objects: int) -> list[tuple[int, int, int]]:
    base = (2**25 - 1, 2**15 - 1, 2**21 - 1)
    return [tuple(int(i * p % 255) for p in base) for i in range(num_objects)]


def _parse_colors(colors: Any, *, num_objects: int, floating: bool = False) -> list[tuple]:
    """One RGB triplet per object, from None (torchvision's palette), a colour, or a list."""
    # Pillow is optional: imported only where an image is handled
    require_pil()
    from PIL import ImageColor

    if colors is None:
        colors = _palette(num_objects)
    elif isinstance(colors, list):
        if len(colors) < num_objects:
            raise ValueError(
                "Number of colors must be equal or larger than the number of objects, but got "
                f"{len(colors)} < {num_objects}."
            )
    elif not isinstance(colors, (tuple, str)):
        raise ValueError(
            f"colors must be a tuple or a string, or a list thereof, but got {colors}."
        )
    elif isinstance(colors, tuple) and len(colors) != 3:
        raise ValueError(f"If passed as tuple, colors should be an RGB triplet, but got {colors}.")
    else:
        colors = [colors] * num_objects
    colors = [ImageColor.getrgb(c) if isinstance(c, str) else tuple(c) for c in colors]
    if floating:
        colors = [tuple(v / 255 for v in c) for c in colors]
    return colors


def draw_bounding_boxes(
    image: ember.Tensor,
    boxes: ember.Tensor,
    labels: list[str] | None = None,
    colors: Any = None,
    fill: bool | None = False,
    width: int = 1,
    font: str | None = None,
    font_size: int | None = None,
    label_colors: Any = None,
    label_background_colors: Any = None,
    fill_labels: bool = False,
) -> ember.Tensor:
    """Draw (xmin, ymin, xmax, ymax) boxes, with optional labels, on a [C, H, W] image."""
    image_mod = require_pil()
    from PIL import ImageDraw, ImageFont  # Pillow is optional: imported on use

    if not isinstance(image, ember.Tensor):
        raise TypeError(f"Tensor expected, got {type(image)}")
    if not (image.dtype == ember.uint8 or image.is_floating_point()):
        raise ValueError(f"The image dtype must be uint8 or float, got {image.dtype}")
    if image.dim() != 3:
        raise ValueError("Pass individual images, not batches")
    if image.size(0) not in {1, 3}:
        raise ValueError("Only grayscale and RGB images are supported")
    box_list = boxes.to(ember.float64).tolist()
    if boxes.shape[-1] == 4 and any(b[0] > b[2] or b[1] > b[3] for b in box_list):
        raise ValueError(
            "Boxes need to be in (xmin, ymin, xmax, ymax) format. Use torchvision.ops.box_convert "
            "to convert them"
        )
    num_boxes = boxes.shape[0]
    if num_boxes == 0:
        warnings.warn("boxes doesn't contain any box. No box was drawn", stacklevel=2)
        return image
    if labels is None:
        labels = [None] * num_boxes
    elif len(labels) != num_boxes:
        raise ValueError(
            f"Number of boxes ({num_boxes}) and labels ({len(labels)}) mismatch. Please specify "
            "labels for each box."
        )
    colors = _parse_colors(colors, num_objects=num_boxes)
    if label_colors or fill_labels:
        label_colors = _parse_colors(
            label_colors if label_colors else "black", num_objects=num_boxes
        )
    else:
        label_colors = list(colors)
    if fill_labels and label_background_colors:
        label_background_colors = _parse_colors(label_background_colors, num_objects=num_boxes)
    else:
        label_background_colors = list(colors)
    if font is None:
        if font_size is not None:
            warnings.warn(
                "Argument 'font_size' will be ignored since 'font' is not set.", stacklevel=2
            )
        txt_font = ImageFont.load_default()
    else:
        txt_font = ImageFont.truetype(font=font, size=font_size or 10)
    if image.size(0) == 1:
        image = image.repeat(3, 1, 1)
    original_dtype = image.dtype
    if original_dtype.is_floating_point:
        image = convert_image_dtype(image, ember.uint8)
    arr = np.ascontiguousarray(image.permute(1, 2, 0).cpu().numpy())
    img_to_draw = image_mod.fromarray(arr)
    int_boxes = boxes.to(ember.int64).tolist()
    draw = ImageDraw.Draw(img_to_draw, "RGBA") if fill else ImageDraw.Draw(img_to_draw)
    for bbox, color, label, label_color, bg in zip(
        int_boxes, colors, labels, label_colors, label_background_colors
    ):
        fill_color = tuple(color) + (100,) if fill else None
        draw.rectangle(bbox, width=width, outline=tuple(color), fill=fill_color)
        if label is not None:
            box_margin = 1
            margin = width + box_margin
            if fill_labels:
                left, top, right, bottom = draw.textbbox(
                    (bbox[0] + margin, bbox[1] + margin), label, font=txt_font
                )
                draw.rectangle(
                    (left - box_margin, top - box_margin, right + box_margin, bottom + box_margin),
                    fill=tuple(bg),
                )
            draw.text(
                (bbox[0] + margin, bbox[1] + margin), label, fill=tuple(label_color), font=txt_font
            )
    out = pil_to_tensor(img_to_draw)
    if original_dtype.is_floating_point:
        out = convert_image_dtype(out, original_dtype)
    return out


def draw_segmentation_masks(
    image: ember.Tensor, masks: ember.Tensor, alpha: float = 0.8, colors: Any = None
) -> ember.Tensor:
    """Blend coloured boolean masks [N, H, W] onto an RGB image (overlaps go black)."""
    if not isinstance(image, ember.Tensor):
        raise TypeError(f"The image must be a tensor, got {type(image)}")
    if not (image.dtype == ember.uint8 or image.is_floating_point()):
        raise ValueError(f"The image dtype must be uint8 or float, got {image.dtype}")
    if image.dim() != 3:
        raise ValueError("Pass individual images, not batches")
    if image.size()[0] != 3:
        raise ValueError("Pass an RGB image. Other Image formats are not supported")
    if masks.ndim == 2:
        masks = masks[None, :, :]
    if masks.ndim != 3:
        raise ValueError("masks must be of shape (H, W) or (batch_size, H, W)")
    if masks.dtype != ember.bool:
        raise ValueError(f"The masks must be of dtype bool. Got {masks.dtype}")
    if tuple(masks.shape[-2:]) != tuple(image.shape[-2:]):
        raise ValueError("The image and the masks must have the same height and width")
    num_masks = masks.size()[0]
    if num_masks == 0:
        warnings.warn("masks doesn't contain any mask. No mask was drawn", stacklevel=2)
        return image
    original_dtype = image.dtype
    colors = _parse_colors(colors, num_objects=num_masks, floating=original_dtype.is_floating_point)
    img = image.detach().cpu().numpy()
    m = masks.detach().cpu().numpy()
    overlapping = m.sum(axis=0) > 1
    drawn = img.copy()
    for mask, color in zip(m, colors):
        drawn[:, mask] = np.array(color, dtype=img.dtype)[:, None]
    drawn[:, overlapping] = 0
    with ember.no_grad():
        img_t = image.detach()
        drawn_t = ember.from_numpy(drawn).to(image.device)
        out = img_t * (1 - alpha) + drawn_t * alpha
    return out.to(original_dtype)


def draw_keypoints(
    image: ember.Tensor,
    keypoints: ember.Tensor,
    connectivity: list[tuple[int, int]] | None = None,
    colors: Any = None,
    radius: int = 2,
    width: int = 3,
    visibility: ember.Tensor | None = None,
) -> ember.Tensor:
    """Draw keypoints [N, K, 2] as dots, and their connections as lines, on an RGB image."""
    image_mod = require_pil()
    from PIL import ImageDraw  # Pillow is optional: imported on use

    if not isinstance(image, ember.Tensor):
        raise TypeError(f"The image must be a tensor, got {type(image)}")
    if not (image.dtype == ember.uint8 or image.is_floating_point()):
        raise ValueError(f"The image dtype must be uint8 or float, got {image.dtype}")
    if image.dim() != 3:
        raise ValueError("Pass individual images, not batches")
    if image.size()[0] != 3:
        raise ValueError("Pass an RGB image. Other Image formats are not supported")
    if keypoints.ndim != 3:
        raise ValueError("keypoints must be of shape (num_instances, K, 2)")
    if visibility is None:
        vis = np.ones(tuple(keypoints.shape[:-1]), dtype=bool)
    else:
        vis = visibility.detach().cpu().numpy().astype(bool)
        if vis.ndim == 3:
            vis = vis.squeeze(-1)
        if vis.ndim != 2:
            raise ValueError(f"visibility must be of shape (num_instances, K). Got ndim={vis.ndim}")
        if vis.shape != tuple(keypoints.shape[:-1]):
            raise ValueError(
                "keypoints and visibility must have the same dimensionality for num_instances and "
                f"K. Got visibility.shape={vis.shape!r} and keypoints.shape={keypoints.shape!r}"
            )
    original_dtype = image.dtype
    if original_dtype.is_floating_point:
        image = convert_image_dtype(image, ember.uint8)
    img_to_draw = image_mod.fromarray(np.ascontiguousarray(image.permute(1, 2, 0).cpu().numpy()))
    draw = ImageDraw.Draw(img_to_draw)
    kpts = keypoints.to(ember.int64).tolist()
    for inst, vis_inst in zip(kpts, vis.tolist()):
        for (x, y), visible in zip(inst, vis_inst):
            if visible:
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colors, width=0)
        for a, b in connectivity or []:
            if vis_inst[a] and vis_inst[b]:
                draw.line(((inst[a][0], inst[a][1]), (inst[b][0], inst[b][1])), width=width)
    out = ember.from_numpy(np.array(img_to_draw)).permute(2, 0, 1)
    if original_dtype.is_floating_point:
        out = convert_image_dtype(out, original_dtype)
    return out
