"""Images as ROS 2 users send them: every encoding reads as OpenCV would read it, or fails in one line.

OpenCV (``opencv-python-headless``, a dev requirement) is the reference: ``cvtColor`` for raw
encodings, ``imdecode`` for compressed images.
"""

from __future__ import annotations

import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from dvfo_core import camera, images
from dvfo_core.bag import write_bag
from dvfo_core.errors import ConfigError, DvfoError, ImageError
from dvfo_core.images import (
    compress,
    decode,
    encode,
    image_from_compressed,
    image_from_msg,
    msg_to_rgb,
)
from dvfo_core.runtime.msgs import message_class

Image = message_class("sensor_msgs/msg/Image")
CompressedImage = message_class("sensor_msgs/msg/CompressedImage")

#: encoding -> (bytes per pixel, OpenCV's conversion of those bytes to RGB; None: they are RGB)
OPENCV = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "yuv422": (2, cv2.COLOR_YUV2RGB_UYVY),
    "uyvy": (2, cv2.COLOR_YUV2RGB_UYVY),
    "yuv422_yuy2": (2, cv2.COLOR_YUV2RGB_YUY2),
    "yuyv": (2, cv2.COLOR_YUV2RGB_YUY2),
}
H, W = 6, 10


def raw_msg(pixels: np.ndarray, encoding: str, pad: int = 0, data: Any = None) -> Any:
    """A ``sensor_msgs/Image`` of ``(H, W, bytes per pixel)`` bytes, each row followed by ``pad``
    random bytes."""
    h, w = pixels.shape[:2]
    rows = pixels.reshape(h, -1)
    padding = np.random.default_rng(1).integers(0, 256, (h, pad), dtype=np.uint8)
    buf = np.concatenate([rows, padding], axis=1)
    msg = Image(height=h, width=w, encoding=encoding, step=buf.shape[1])
    msg.data = buf.reshape(-1) if data is None else data(buf.tobytes())
    return msg


def reference(pixels: np.ndarray, encoding: str) -> np.ndarray:
    """What OpenCV makes of the same bytes."""
    bpp, code = OPENCV[encoding]
    h, w = pixels.shape[:2]
    src = pixels.reshape(h, w, bpp) if bpp > 1 else pixels.reshape(h, w)
    return src.copy() if code is None else cv2.cvtColor(src, code)


def random_pixels(encoding: str, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, OPENCV[encoding][0]), dtype=np.uint8)


def smooth_rgb(h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth picture (colour gradients): what JPEG is made for."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), (xx + yy) * 255 // (w + h - 2)], axis=2)
    return img.astype(np.uint8)


@pytest.fixture
def no_cv_bridge() -> Iterator[None]:
    """This machine has no cv_bridge; make sure of it and of a fresh look-up afterwards."""
    images.cv_bridge.cache_clear()
    assert images.cv_bridge() is None
    yield
    images.cv_bridge.cache_clear()


# -- sensor_msgs/Image -------------------------------------------------------------------------
@pytest.mark.parametrize("pad", [0, 7], ids=["tight", "padded-step"])
@pytest.mark.parametrize("encoding", list(OPENCV))
def test_every_raw_encoding_reads_as_opencv_converts_it(encoding: str, pad: int, no_cv_bridge: None) -> None:
    pixels = random_pixels(encoding)
    out = image_from_msg(raw_msg(pixels, encoding, pad))
    assert out.shape == (H, W, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, reference(pixels, encoding))


def test_yuv422_is_uyvy_and_yuv422_yuy2_is_yuyv_as_in_ros_image_encodings() -> None:
    pixels = random_pixels("yuv422")
    np.testing.assert_array_equal(
        image_from_msg(raw_msg(pixels, "yuv422")), image_from_msg(raw_msg(pixels, "uyvy"))
    )
    np.testing.assert_array_equal(
        image_from_msg(raw_msg(pixels, "yuv422_yuy2")), image_from_msg(raw_msg(pixels, "yuyv"))
    )
    assert not np.array_equal(
        image_from_msg(raw_msg(pixels, "yuv422")), image_from_msg(raw_msg(pixels, "yuv422_yuy2"))
    )


@pytest.mark.parametrize("kind", [bytes, bytearray, lambda b: array.array("B", b), list])
def test_data_may_be_bytes_array_or_list_as_rclpy_and_users_give_it(kind: Any) -> None:
    pixels = random_pixels("yuv422")
    out = image_from_msg(raw_msg(pixels, "yuv422", pad=4, data=kind))
    np.testing.assert_array_equal(out, reference(pixels, "yuv422"))


def test_is_bigendian_does_not_change_one_byte_channels() -> None:
    pixels = random_pixels("bgr8")
    little, big = raw_msg(pixels, "bgr8"), raw_msg(pixels, "bgr8")
    big.is_bigendian = 1
    np.testing.assert_array_equal(image_from_msg(big), image_from_msg(little))


@pytest.mark.parametrize("encoding", ["bayer_rggb8", "mono16", "16UC1", "32FC1", "nv21", "", "jpeg"])
def test_unsupported_encoding_is_an_image_error_naming_it(encoding: str) -> None:
    msg = raw_msg(random_pixels("rgb8"), "rgb8")
    msg.encoding = encoding
    with pytest.raises(ImageError, match=f"unsupported image encoding {encoding!r}") as err:
        image_from_msg(msg)
    assert err.value.encoding == encoding
    assert "\n" not in str(err.value)
    assert isinstance(err.value, ConfigError) and isinstance(err.value, DvfoError)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"data": np.zeros(H * W * 3 - 1, np.uint8)}, "too short"),
        ({"step": W * 3 - 1}, "shorter than a row"),
        ({"height": H + 1}, "too short"),
        ({"width": 0}, "empty"),
        ({"encoding": "yuv422", "width": 9, "step": 18}, "odd"),
    ],
    ids=["short-data", "short-step", "more-rows-than-data", "no-width", "odd-yuv-width"],
)
def test_malformed_buffer_is_an_image_error(change: dict, match: str) -> None:
    msg = raw_msg(random_pixels("rgb8"), "rgb8")
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(ImageError, match=match) as err:
        image_from_msg(msg)
    assert err.value.encoding == msg.encoding and msg.encoding in str(err.value)


@pytest.mark.parametrize("encoding", list(OPENCV))
def test_camera_encodings_round_trip(encoding: str) -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (H, W, 3), dtype=np.uint8)
    rgb[:, 1::2] = rgb[:, 0::2]  # pixel pairs share their colour: 4:2:2 loses nothing then
    data, step = encode(rgb, encoding)
    out = image_from_msg(Image(height=H, width=W, encoding=encoding, step=step, data=data))
    if encoding == "mono8":
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        np.testing.assert_allclose(out, np.repeat(grey[:, :, None], 3, axis=2), atol=1)
    elif encoding in ("yuv422", "uyvy", "yuv422_yuy2", "yuyv"):
        np.testing.assert_allclose(out, rgb, atol=1)  # 8-bit limited-range YUV: one step
    else:
        np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize(
    ("encoding", "code"),
    [
        ("yuv422", cv2.COLOR_RGB2YUV_UYVY),
        ("yuv422_yuy2", cv2.COLOR_RGB2YUV_YUY2),
        ("mono8", cv2.COLOR_RGB2GRAY),
    ],
)
def test_camera_encodes_as_opencv_does_within_one_step(encoding: str, code: int) -> None:
    rgb = np.random.default_rng(4).integers(0, 256, (H, W, 3), dtype=np.uint8)
    data, _ = encode(rgb, encoding)
    np.testing.assert_allclose(data, cv2.cvtColor(rgb, code).reshape(-1), atol=1)


def test_camera_cannot_encode_an_odd_width_as_yuv422_nor_an_unknown_encoding() -> None:
    with pytest.raises(ImageError, match="even width"):
        encode(np.zeros((2, 3, 3), np.uint8), "uyvy")
    with pytest.raises(ImageError, match="'bayer_rggb8'"):
        encode(np.zeros((2, 2, 3), np.uint8), "bayer_rggb8")


def test_camera_module_reads_images_through_the_one_converter() -> None:
    assert camera.image_from_msg is images.image_from_msg


def test_camera_replays_yuv_and_compressed_image_topics_from_a_bag(tmp_path: Path) -> None:
    rgb = smooth_rgb()
    h, w = rgb.shape[:2]
    data, step = encode(rgb, "yuv422_yuy2")
    png, fmt = compress(rgb, "png")
    raw = Image(height=h, width=w, encoding="yuv422_yuy2", step=step, data=data)
    bag = write_bag(
        tmp_path / "run", [("/cam/raw", 1, raw), ("/cam/raw/compressed", 2, compressed_msg(png, fmt))]
    )
    yuyv = next(camera.open_source("bag", str(bag), loop=False, topic="/cam/raw"))
    np.testing.assert_array_equal(yuyv.image, image_from_msg(raw))
    compressed = next(camera.open_source("bag", str(bag), loop=False, topic="/cam/raw/compressed"))
    np.testing.assert_array_equal(compressed.image, rgb)


# -- sensor_msgs/CompressedImage --------------------------------------------------------------
def compressed_msg(data: bytes, fmt: str) -> Any:
    return CompressedImage(format=fmt, data=np.frombuffer(data, np.uint8))


def opencv_decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]


@pytest.mark.parametrize("backend", ["pillow", "cv2"])
def test_png_round_trip_is_exact(backend: str) -> None:
    rgb = np.random.default_rng(5).integers(0, 256, (H, W, 3), dtype=np.uint8)
    data, fmt = compress(rgb, "png", "rgb8", backend=backend)
    assert fmt == "rgb8; png compressed bgr8"
    np.testing.assert_array_equal(image_from_compressed(compressed_msg(data, fmt)), rgb)
    for reader in ("pillow", "cv2"):
        np.testing.assert_array_equal(decode(np.frombuffer(data, np.uint8), "png", reader), rgb)


@pytest.mark.parametrize("backend", ["pillow", "cv2"])
def test_jpeg_round_trip_is_close_and_decodes_as_opencv_does(backend: str) -> None:
    rgb = smooth_rgb()
    data, fmt = compress(rgb, "jpeg", "bgr8", quality=95, backend=backend)
    assert fmt == "bgr8; jpeg compressed bgr8" and data[:3] == b"\xff\xd8\xff"
    out = image_from_compressed(compressed_msg(data, fmt))
    assert out.shape == rgb.shape
    mse = np.mean((out.astype(float) - rgb) ** 2)
    assert 10 * np.log10(255**2 / mse) > 40, "PSNR of a quality-95 JPEG"
    np.testing.assert_allclose(out, opencv_decode(data), atol=2)  # libjpeg builds may round apart
    np.testing.assert_allclose(decode(np.frombuffer(data, np.uint8), "jpeg", "cv2"), out, atol=2)


def test_mono8_compresses_grey_and_reads_back_as_grey_rgb() -> None:
    data, fmt = compress(smooth_rgb(), "jpeg", "mono8")
    assert fmt == "mono8; jpeg compressed mono8"
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED).ndim == 2
    out = image_from_compressed(compressed_msg(data, fmt))
    assert (out[:, :, 0] == out[:, :, 1]).all() and (out[:, :, 1] == out[:, :, 2]).all()


@pytest.mark.parametrize(
    "fmt",
    [
        "rgb8; jpeg compressed bgr8",
        "bgr8; jpeg compressed ",
        "jpeg",
        "JPG",
        "rgb8; png compressed bgr8",
        "png",
        "",
    ],
)
def test_format_strings_as_compressed_image_transport_and_users_write_them(fmt: str) -> None:
    codec = "png" if "png" in fmt or not fmt else "jpeg"  # empty: the data's signature decides
    data, _ = compress(smooth_rgb(), codec)
    out = image_from_compressed(compressed_msg(data, fmt))
    np.testing.assert_allclose(out, opencv_decode(data), atol=2 if codec == "jpeg" else 0)


@pytest.mark.parametrize("backend", ["pillow", "cv2"])
def test_sixteen_bit_png_keeps_its_high_byte(backend: str) -> None:
    grey16 = np.random.default_rng(6).integers(0, 65536, (H, W), dtype=np.uint16)
    ok, buf = cv2.imencode(".png", grey16)
    assert ok
    out = decode(buf.reshape(-1), "png", backend)
    np.testing.assert_array_equal(out, np.repeat((grey16 >> 8).astype(np.uint8)[:, :, None], 3, axis=2))


@pytest.mark.parametrize(
    ("fmt", "data", "match"),
    [
        ("16UC1; compressedDepth png", None, "unsupported compressed image format"),
        ("tiff", None, "unsupported compressed image format"),
        ("rgb8; jpeg compressed bgr8", "png", "not a jpeg"),
        ("jpeg", b"\xff\xd8\xff" + bytes(range(200)), "cannot decode"),
        ("png", b"\x89PNG\r\n\x1a\n" + bytes(40), "cannot decode"),
        ("", b"GIF89a" + bytes(30), "neither jpeg nor png"),
        ("jpeg", b"", "not a jpeg"),
    ],
    ids=["compressedDepth", "tiff", "png-data-named-jpeg", "corrupt-jpeg", "corrupt-png", "gif", "empty"],
)
def test_unsupported_or_undecodable_compressed_image_is_an_image_error(
    fmt: str, data: Any, match: str
) -> None:
    if data is None or data == "png":
        data = compress(smooth_rgb(), "png")[0]
    with pytest.raises(ImageError, match=match) as err:
        image_from_compressed(compressed_msg(data, fmt))
    assert err.value.encoding == fmt and "\n" not in str(err.value)


def test_msg_to_rgb_reads_raw_and_compressed_messages() -> None:
    rgb = smooth_rgb()
    data, step = encode(rgb, "bgr8")
    raw = Image(height=rgb.shape[0], width=rgb.shape[1], encoding="bgr8", step=step, data=data)
    png, fmt = compress(rgb, "png")
    np.testing.assert_array_equal(msg_to_rgb(raw), rgb)
    np.testing.assert_array_equal(msg_to_rgb(compressed_msg(png, fmt)), rgb)
