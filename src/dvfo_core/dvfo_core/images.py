"""Camera images as ROS 2 users send them, to and from an ``(H, W, 3)`` uint8 RGB array.

Reading (the head, the camera's bag source):

* ``sensor_msgs/Image`` (:func:`image_from_msg`) in the encodings of :data:`RAW_ENCODINGS`: the
  names of ROS 2's ``sensor_msgs/image_encodings.hpp`` (``rgb8``, ``bgr8``, ``mono8``, ``rgba8``,
  ``bgra8``, ``yuv422`` = UYVY, ``yuv422_yuy2`` = YUYV) and the FourCC names some V4L2 drivers
  publish instead (``uyvy``, ``yuyv``). Row padding (``step``) is honoured; every supported
  encoding has one byte per channel, so ``is_bigendian`` does not change the pixels. YUV 4:2:2 is
  converted with BT.601 limited-range coefficients in the same fixed-point arithmetic as OpenCV's
  ``COLOR_YUV2RGB_UYVY`` / ``COLOR_YUV2RGB_YUY2`` (bit-identical, tested);
* ``sensor_msgs/CompressedImage`` (:func:`image_from_compressed`) in JPEG or PNG, with the format
  strings of ``compressed_image_transport`` (``"rgb8; jpeg compressed bgr8"``) or a bare
  ``"jpeg"`` / ``"png"`` (empty: the data's signature decides), decoded by Pillow (a torchvision
  dependency), or by OpenCV where Pillow is absent.

``cv_bridge`` is used when it imports (a ROS 2 install; it has no wheel on PyPI): after the
message has been checked here, ``imgmsg_to_cv2`` / ``compressed_imgmsg_to_cv2`` convert it, and
this module's own conversion answers whatever cv_bridge refuses. Without cv_bridge raw images are
converted with numpy, compressed ones decoded as above.

Whatever cannot be converted (an unsupported encoding or format, a buffer shorter than its
``height * step``, a ``step`` shorter than a row, undecodable bytes) raises :class:`ImageError`
with one line naming the encoding.

Writing (the camera): :func:`encode` gives the bytes of an RGB image in any of those encodings,
:func:`compress` a JPEG or PNG and the format string ``compressed_image_transport`` would write.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any

import numpy as np

from dvfo_core.errors import ImageError

#: ROS encodings (``sensor_msgs/image_encodings.hpp``) and the bytes per pixel of each.
BYTES_PER_PIXEL = {
    "rgb8": 3,
    "bgr8": 3,
    "mono8": 1,
    "rgba8": 4,
    "bgra8": 4,
    "yuv422": 2,  # UYVY: U0 Y0 V0 Y1
    "yuv422_yuy2": 2,  # YUYV: Y0 U0 Y1 V0
}
#: Names some drivers use for the same layouts (FourCC), read as the ROS encoding.
ALIASES = {"uyvy": "yuv422", "yuyv": "yuv422_yuy2"}
#: Every ``sensor_msgs/Image`` encoding this module reads and writes.
RAW_ENCODINGS = (*BYTES_PER_PIXEL, *ALIASES)
#: ``sensor_msgs/CompressedImage`` codecs.
COMPRESSED_FORMATS = ("jpeg", "png")
#: ``image_transport`` name -> (message type, topic): the camera's topic as ROS 2's image_transport
#: names it (the ``compressed`` plugin publishes on ``<base topic>/compressed``).
IMAGE_TRANSPORTS = {
    "raw": ("sensor_msgs/msg/Image", "/camera/image_raw"),
    "compressed": ("sensor_msgs/msg/CompressedImage", "/camera/image_raw/compressed"),
}
#: The encoder settings ``compressed_image_transport`` ships with.
JPEG_QUALITY = 95
PNG_LEVEL = 3

_SIGNATURES = {"jpeg": b"\xff\xd8\xff", "png": b"\x89PNG\r\n\x1a\n"}

# BT.601 limited range, YUV -> RGB, in OpenCV's fixed point (color_yuv.simd.hpp: ITUR_BT_601_*)
_SHIFT = 20
_CY, _CUB, _CUG, _CVG, _CVR = 1220542, 2116026, -409993, -852492, 1673527
# ... and RGB -> YUV (Rec. 601 limited range, 8-bit)
_RGB2Y = np.array([65.481, 128.553, 24.966]) / 255.0
_RGB2U = np.array([-37.797, -74.203, 112.0]) / 255.0
_RGB2V = np.array([112.0, -93.786, -18.214]) / 255.0
_MONO = np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma, as cvtColor RGB2GRAY


def canonical_encoding(encoding: str) -> str:
    """The ROS name of an encoding (``uyvy`` -> ``yuv422``; case and spaces ignored)."""
    enc = str(encoding).strip().lower()
    return ALIASES.get(enc, enc)


def rgb(image: np.ndarray) -> np.ndarray:
    """A grey ``(H, W)``, ``(H, W, 1)`` or RGBA ``(H, W, 4)`` image as ``(H, W, 3)`` RGB."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 4:
        return image[:, :, :3]
    return image


def _buffer(data: Any) -> np.ndarray:
    """A message's ``uint8[]`` field as a 1-D uint8 array (numpy, bytes, array.array or list)."""
    try:
        return np.frombuffer(memoryview(data).cast("B"), np.uint8)
    except TypeError:
        return np.asarray(data, np.uint8).reshape(-1)


def msg_to_rgb(msg: Any) -> np.ndarray:
    """A ``sensor_msgs/Image`` or ``sensor_msgs/CompressedImage`` as ``(H, W, 3)`` uint8 RGB.

    Raises :class:`ImageError` (one line naming the encoding or format) when it cannot be.
    """
    return image_from_compressed(msg) if hasattr(msg, "format") else image_from_msg(msg)


# -- sensor_msgs/Image -----------------------------------------------------------------------
def image_from_msg(msg: Any) -> np.ndarray:
    """``sensor_msgs/Image`` -> ``(H, W, 3)`` uint8 RGB; :class:`ImageError` when it cannot be."""
    encoding = str(msg.encoding)
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    data = _buffer(msg.data)
    rows = check_raw(encoding, h, w, step, data)
    bridge = cv_bridge()
    if bridge is not None and encoding in BYTES_PER_PIXEL:
        try:
            out = np.asarray(bridge.imgmsg_to_cv2(msg, desired_encoding="rgb8"))
            if out.shape == (h, w, 3) and out.dtype == np.uint8:
                return out
        except Exception:  # cv_bridge's refusals: this module converts instead
            pass
    return rgb_from_rows(rows, canonical_encoding(encoding), w)


def check_raw(encoding: str, height: int, width: int, step: int, data: np.ndarray) -> np.ndarray:
    """The ``(height, width * bytes per pixel)`` pixel bytes of a raw image, row padding cut off.

    Raises :class:`ImageError` for an unsupported encoding, an empty image, an odd YUV 4:2:2
    width, a ``step`` shorter than a row or data shorter than ``height * step``.
    """
    enc = canonical_encoding(encoding)
    bpp = BYTES_PER_PIXEL.get(enc)
    if bpp is None:
        supported = ", ".join(RAW_ENCODINGS)
        raise ImageError(f"unsupported image encoding {encoding!r} (supported: {supported})", encoding)
    if height <= 0 or width <= 0:
        raise ImageError(f"empty {encoding} image: {height}x{width}", encoding)
    if enc.startswith("yuv422") and width % 2:
        raise ImageError(f"{encoding} image width {width} is odd (4:2:2 pairs pixels)", encoding)
    row = width * bpp
    if step < row:
        raise ImageError(f"{encoding} step {step} is shorter than a row ({width} px, {row} bytes)", encoding)
    if data.size < height * step:
        raise ImageError(
            f"{encoding} image data of {data.size} bytes is too short for {height} rows of step {step}",
            encoding,
        )
    return data[: height * step].reshape(height, step)[:, :row]


def rgb_from_rows(rows: np.ndarray, encoding: str, width: int) -> np.ndarray:
    """The pixel bytes :func:`check_raw` returned, in ROS ``encoding``, as ``(H, W, 3)`` RGB."""
    h = rows.shape[0]
    if encoding in ("yuv422", "yuv422_yuy2"):
        return _yuv422_to_rgb(rows.reshape(h, width // 2, 4), uyvy=encoding == "yuv422")
    img = rows.reshape(h, width, BYTES_PER_PIXEL[encoding])
    if encoding in ("bgr8", "bgra8"):
        img = img[:, :, 2::-1]
    return np.ascontiguousarray(rgb(img))


def _yuv422_to_rgb(quads: np.ndarray, uyvy: bool) -> np.ndarray:
    """``(H, W/2, 4)`` macropixels (UYVY or YUYV) -> ``(H, W, 3)`` RGB, as OpenCV computes it."""
    q = quads.astype(np.int32)
    if uyvy:
        u, y0, v, y1 = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    else:
        y0, u, y1, v = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    u, v = u - 128, v - 128
    half = 1 << (_SHIFT - 1)
    ruv = half + _CVR * v
    guv = half + _CVG * v + _CUG * u
    buv = half + _CUB * u
    h, n = q.shape[:2]
    out = np.empty((h, n, 2, 3), np.int32)
    for k, yy in enumerate((y0, y1)):
        ys = np.maximum(yy - 16, 0) * _CY
        out[:, :, k, 0] = ys + ruv
        out[:, :, k, 1] = ys + guv
        out[:, :, k, 2] = ys + buv
    return np.clip(out >> _SHIFT, 0, 255).astype(np.uint8).reshape(h, 2 * n, 3)


def encode(image: np.ndarray, encoding: str) -> tuple[np.ndarray, int]:
    """An ``(H, W, 3)`` RGB image in a raw ``encoding``: ``(data, step)``, rows unpadded.

    ``mono8`` is the ITU-R 601 luma; ``rgba8`` / ``bgra8`` are opaque; YUV 4:2:2 is BT.601 limited
    range with each pixel pair's mean chroma (the width must be even). Raises :class:`ImageError`
    for an encoding outside :data:`RAW_ENCODINGS`.
    """
    enc = canonical_encoding(encoding)
    if enc not in BYTES_PER_PIXEL:
        choices = ", ".join(RAW_ENCODINGS)
        raise ImageError(f"cannot encode images as {encoding!r} (choose from {choices})", encoding)
    h, w = image.shape[:2]
    if enc in ("rgb8", "bgr8", "rgba8", "bgra8"):
        px = image[:, :, ::-1] if enc.startswith("bgr") else image
        if enc.endswith("a8"):
            px = np.concatenate([px, np.full((h, w, 1), 255, np.uint8)], axis=2)
    elif enc == "mono8":
        px = _round(image @ _MONO)
    else:
        if w % 2:
            raise ImageError(f"{encoding} needs an even width, not {w}", encoding)
        f = image.astype(np.float64)
        y = _round(16.0 + f @ _RGB2Y)
        pair = (f[:, 0::2] + f[:, 1::2]) / 2.0
        u, v = _round(128.0 + pair @ _RGB2U), _round(128.0 + pair @ _RGB2V)
        y0, y1 = y[:, 0::2], y[:, 1::2]
        order = (u, y0, v, y1) if enc == "yuv422" else (y0, u, y1, v)
        px = np.stack(order, axis=2)
    return np.ascontiguousarray(px).reshape(-1), w * BYTES_PER_PIXEL[enc]


def _round(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


# -- sensor_msgs/CompressedImage -------------------------------------------------------------
def compressed_codec(fmt: str, data: np.ndarray) -> str:
    """The codec (``jpeg`` or ``png``) of a ``CompressedImage``, from its ``format`` and bytes.

    ``format`` is ``compressed_image_transport``'s ``"<encoding>; <codec> compressed <target>"``,
    a bare codec name, or empty (the data's signature decides). Raises :class:`ImageError` for
    ``compressedDepth``, another codec, or data that is not what the format names.
    """
    text = str(fmt).strip().lower()
    named = [c for c in COMPRESSED_FORMATS if c in text.replace("jpg", "jpeg")]
    sniffed = next((c for c, sig in _SIGNATURES.items() if bytes(data[: len(sig)]) == sig), None)
    if "compresseddepth" in text or (text and not named):
        raise ImageError(f"unsupported compressed image format {fmt!r} (jpeg or png)", fmt)
    codec = named[0] if named else sniffed
    if codec is None:
        raise ImageError(f"compressed image ({fmt!r}): its {data.size} bytes are neither jpeg nor png", fmt)
    if sniffed != codec:
        raise ImageError(f"compressed image ({fmt!r}): its {data.size} bytes are not a {codec}", fmt)
    return codec


def image_from_compressed(msg: Any) -> np.ndarray:
    """``sensor_msgs/CompressedImage`` (JPEG, PNG) -> ``(H, W, 3)`` uint8 RGB.

    16-bit PNGs keep their high byte. Raises :class:`ImageError` naming the format when the image
    cannot be decoded.
    """
    fmt = str(msg.format)
    data = _buffer(msg.data)
    codec = compressed_codec(fmt, data)
    bridge = cv_bridge()
    if bridge is not None:
        try:
            out = np.asarray(bridge.compressed_imgmsg_to_cv2(msg, desired_encoding="rgb8"))
            if out.ndim == 3 and out.shape[2] == 3 and out.dtype == np.uint8:
                return out
        except Exception:  # cv_bridge's refusals: this module decodes instead
            pass
    try:
        return decode(data, codec)
    except Exception as exc:  # any decoder failure is a bad frame, not a crash
        raise ImageError(
            f"compressed image ({fmt!r}): cannot decode its {data.size} bytes: {exc}", fmt
        ) from None


def decode(data: np.ndarray, codec: str, backend: str = "") -> np.ndarray:
    """JPEG or PNG bytes -> ``(H, W, 3)`` uint8 RGB, with Pillow (or OpenCV where Pillow does not
    import); ``backend`` (``"pillow"``, ``"cv2"``) picks one. 16-bit images keep their high byte."""
    img = _decode_cv2(data) if _use_cv2(backend) else _decode_pillow(data, codec)
    if img is None or img.size == 0:
        raise ImageError(f"cannot decode {data.size} bytes of {codec}", codec)
    return np.ascontiguousarray(rgb(img))


def _decode_cv2(data: np.ndarray) -> np.ndarray | None:
    import cv2

    flags = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION  # 16 bits -> their high byte
    bgr = cv2.imdecode(np.ascontiguousarray(data), flags)
    return None if bgr is None else bgr[:, :, ::-1]


def _decode_pillow(data: np.ndarray, codec: str) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data.tobytes()), formats=[codec.upper()]) as im:
        im.load()
        if im.mode.startswith("I"):  # 16-bit grey: its high byte, as OpenCV does
            return (np.asarray(im, np.uint32) >> 8).astype(np.uint8)
        return np.asarray(im.convert("RGB"))


def compress(
    image: np.ndarray, codec: str, encoding: str = "rgb8", quality: int = JPEG_QUALITY, backend: str = ""
) -> tuple[bytes, str]:
    """An ``(H, W, 3)`` RGB image as JPEG or PNG bytes, and the ``CompressedImage.format``.

    ``encoding`` is the raw encoding the image stands for: ``mono8`` is compressed grey,
    anything else in colour, and the format string is ``compressed_image_transport``'s, e.g.
    ``"rgb8; jpeg compressed bgr8"``. Pillow encodes (OpenCV where Pillow does not import;
    ``backend`` picks one).
    """
    if codec not in COMPRESSED_FORMATS:
        raise ImageError(f"cannot compress images as {codec!r} (jpeg or png)", codec)
    mono = canonical_encoding(encoding) == "mono8"
    px = encode(image, "mono8")[0].reshape(image.shape[:2]) if mono else image
    if _use_cv2(backend):
        import cv2

        params = [cv2.IMWRITE_JPEG_QUALITY, quality]
        if codec == "png":
            params = [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL]
        ok, buf = cv2.imencode(f".{codec}", px if mono else px[:, :, ::-1], params)
        if not ok:
            raise ImageError(f"OpenCV could not encode a {px.shape} image as {codec}", codec)
        data = buf.tobytes()
    else:
        from PIL import Image

        out = io.BytesIO()
        options = {"quality": quality} if codec == "jpeg" else {"compress_level": PNG_LEVEL}
        Image.fromarray(np.ascontiguousarray(px)).save(out, format=codec.upper(), **options)
        data = out.getvalue()
    return data, f"{encoding}; {codec} compressed {'mono8' if mono else 'bgr8'}"


# -- optional libraries ----------------------------------------------------------------------
@cache
def cv_bridge() -> Any | None:
    """A ``cv_bridge.CvBridge`` when cv_bridge imports (ROS 2 installs), else None."""
    try:
        from cv_bridge import CvBridge
    except ImportError:
        return None
    return CvBridge()


@cache
def _has_pillow() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def _use_cv2(backend: str) -> bool:
    """Whether OpenCV codes JPEG/PNG: when asked to, or when Pillow is absent."""
    return backend == "cv2" or (not backend and not _has_pillow())
