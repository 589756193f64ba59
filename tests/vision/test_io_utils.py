"""ember.vision.io and ember.vision.utils against torchvision (golden fixtures)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import ember
from ember.vision import io as vio
from ember.vision import utils as U
from tests.vision.conftest import assert_matches, vision_inputs


@pytest.fixture(scope="module")
def inputs() -> dict:
    return vision_inputs()


def test_decoders_match_torchvision(golden):
    jpeg = ember.from_numpy(golden["io/jpeg_bytes"].copy())
    assert_matches(vio.decode_jpeg(jpeg).numpy(), golden["io/decode_jpeg"], "decode_jpeg")
    gray = vio.decode_jpeg(jpeg, mode=vio.ImageReadMode.GRAY)
    assert_matches(gray.numpy(), golden["io/decode_jpeg_gray"], "decode_jpeg gray")
    assert_matches(vio.decode_image(jpeg).numpy(), golden["io/decode_jpeg"], "decode_image")
    png = ember.from_numpy(golden["io/png_bytes"].copy())  # torchvision's own encoder wrote it
    rgba = vio.decode_image(png, mode="RGB_ALPHA")
    assert_matches(rgba.numpy(), golden["io/decode_png_rgba"], "decode_png rgba")
    assert vio.decode_png(png).shape == (3, 13, 17)
    with pytest.raises(RuntimeError, match="Expected a png image"):
        vio.decode_png(jpeg)


def test_encode_write_read_round_trips(inputs, tmp_path):
    u8 = inputs["u8"]
    png = vio.encode_png(u8, compression_level=9)
    assert png.dtype == ember.uint8 and png.ndim == 1
    np.testing.assert_array_equal(vio.decode_png(png).numpy(), u8.numpy())
    vio.write_png(u8, tmp_path / "a.png")
    np.testing.assert_array_equal(vio.read_image(tmp_path / "a.png").numpy(), u8.numpy())
    yy, xx = np.mgrid[0:16, 0:24]
    smooth = ember.from_numpy(
        np.stack([4 * xx + 3 * yy + 20 * c for c in range(3)]).astype(np.uint8)
    )
    vio.write_jpeg(smooth, str(tmp_path / "a.jpg"), quality=95)
    back = vio.read_image(str(tmp_path / "a.jpg"), vio.ImageReadMode.RGB)
    assert back.shape == smooth.shape and float((back.float() - smooth.float()).abs().mean()) < 8
    gray = vio.read_image(str(tmp_path / "a.png"), vio.ImageReadMode.GRAY)
    assert gray.shape == (1, 13, 17)
    data = vio.read_file(str(tmp_path / "a.png"))
    vio.write_file(str(tmp_path / "b.png"), data)
    assert (tmp_path / "b.png").read_bytes() == (tmp_path / "a.png").read_bytes()
    assert len(vio.encode_jpeg([u8, u8])) == 2
    with pytest.raises(ValueError, match="Image quality"):
        vio.encode_jpeg(u8, quality=0)
    with pytest.raises(RuntimeError, match="uint8"):
        vio.encode_png(u8.float())


@pytest.mark.parametrize(
    "name,call",
    [
        ("grid", lambda i: U.make_grid(i["batch"].float() / 255, nrow=1, padding=1, pad_value=0.5)),
        (
            "grid_norm",
            lambda i: U.make_grid(
                [i["f32"], i["f32"] * 2, i["f32"]], nrow=2, normalize=True, scale_each=True
            ),
        ),
        (
            "grid_gray",
            lambda i: U.make_grid(i["gray"].float(), normalize=True, value_range=(10, 200)),
        ),
        (
            "boxes",
            lambda i: U.draw_bounding_boxes(
                i["u8"], _boxes(), colors=["red", (0, 255, 0)], width=2
            ),
        ),
        ("boxes_fill", lambda i: U.draw_bounding_boxes(i["u8"], _boxes(), fill=True)),
        ("boxes_labels", lambda i: U.draw_bounding_boxes(i["u8"], _boxes(), labels=["a", "b"])),
        ("boxes_float", lambda i: U.draw_bounding_boxes(i["f32"], _boxes(), colors="blue")),
        ("masks", lambda i: U.draw_segmentation_masks(i["u8"], i["masks"], alpha=0.6)),
        (
            "masks_float",
            lambda i: U.draw_segmentation_masks(i["f32"], i["masks"][0], colors="yellow"),
        ),
        (
            "keypoints",
            lambda i: U.draw_keypoints(
                i["u8"],
                ember.tensor([[[2.0, 3.0], [10.0, 8.0], [15.0, 2.0]]]),
                connectivity=[(0, 1), (1, 2)],
                colors="red",
                radius=1,
                width=1,
            ),
        ),
    ],
)
def test_utils_match_torchvision(name, call, inputs, golden):
    assert_matches(call(inputs).numpy(), golden[f"u/{name}"], name)


def _boxes():
    return ember.tensor([[1, 2, 10, 9], [4, 0, 16, 12]], dtype=ember.float32)


def test_save_image_matches_torchvision(inputs, golden, tmp_path):
    from PIL import Image

    out = io.BytesIO()
    U.save_image(inputs["batch"].float() / 255, out, format="png", nrow=2)
    assert_matches(
        np.asarray(Image.open(io.BytesIO(out.getvalue()))), golden["u/save_image"], "save"
    )
    U.save_image(inputs["f32"], tmp_path / "one.png")
    assert Image.open(tmp_path / "one.png").size == (17, 13)


def test_utils_errors(inputs):
    with pytest.raises(ValueError, match="Boxes need to be in"):
        U.draw_bounding_boxes(inputs["u8"], ember.tensor([[5.0, 0.0, 1.0, 3.0]]))
    with pytest.raises(ValueError, match="masks must be of dtype bool"):
        U.draw_segmentation_masks(inputs["u8"], ember.zeros(13, 17))
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        U.make_grid(3)


def test_decode_gif_and_webp(inputs):
    from PIL import Image

    frames = [Image.fromarray(np.full((6, 8, 3), v, np.uint8)) for v in (0, 128, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    gif = vio.decode_gif(ember.from_numpy(np.frombuffer(buf.getvalue(), np.uint8).copy()))
    assert gif.shape == (3, 3, 6, 8) and gif.dtype == ember.uint8
    assert [int(gif[k].float().mean()) for k in range(3)] == [0, 128, 255]
    buf = io.BytesIO()
    inputs["pil"].save(buf, format="WEBP", lossless=True)
    webp = vio.decode_webp(ember.from_numpy(np.frombuffer(buf.getvalue(), np.uint8).copy()))
    np.testing.assert_array_equal(webp.numpy(), inputs["u8"].numpy())
