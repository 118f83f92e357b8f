"""Image sources for the camera node: a test pattern, a labelled data set, a folder, a video, a bag.

Each source yields :class:`Frame` objects (an ``(H, W, 3)`` uint8 RGB image and, when the source
knows it, the true class). Sources are plain Python: the node only publishes what they yield.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dvfo_core.errors import ConfigError
from dvfo_core.images import image_from_msg as image_from_msg  # re-exported; its home is images
from dvfo_core.images import msg_to_rgb, rgb

SOURCES = ("pattern", "mnist", "digits", "folder", "video", "bag")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff"}


@dataclass(frozen=True)
class Frame:
    """One image from a source."""

    image: np.ndarray  #: ``(H, W, 3)`` uint8, RGB
    label: int = -1  #: true class, -1 when unknown
    index: int = 0  #: position in the source


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if width <= 0 or height <= 0 or image.shape[:2] == (height, width):
        return image
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def pattern(width: int, height: int) -> Iterator[Frame]:
    """A moving colour gradient with a bright square: no data needed, never ends."""
    yy, xx = np.mgrid[0:height, 0:width]
    k = 0
    while True:
        img = np.empty((height, width, 3), np.uint8)
        img[:, :, 0] = (xx * 255 // max(1, width - 1) + 4 * k) % 256
        img[:, :, 1] = (yy * 255 // max(1, height - 1)) % 256
        img[:, :, 2] = (k * 7) % 256
        s = max(4, min(width, height) // 5)
        x0 = (k * 3) % max(1, width - s)
        img[s : 2 * s, x0 : x0 + s] = 255
        yield Frame(img, -1, k)
        k += 1


def dataset(name: str, width: int, height: int, loop: bool, seed: int = 0) -> Iterator[Frame]:
    """The held-out test images of a bundled data set (``mnist`` or ``digits``), with labels, in a
    seeded shuffled order.

    The set is loaded here, when the source is opened (the camera's configure), not at the first
    frame: activation starts streaming at once. No torch is loaded (:mod:`dvfo_core.split.bundled`).
    """
    from dvfo_core.split.bundled import test_images

    raw, labels = test_images(name, seed=seed)
    order = np.random.default_rng(seed).permutation(len(raw))  # the stored set is sorted by class

    def frames() -> Iterator[Frame]:
        while True:
            for i in order:
                yield Frame(_resize(rgb(raw[i]), width, height), int(labels[i]), int(i))
            if not loop:
                return

    return frames()


def folder(path: str, width: int, height: int, loop: bool) -> Iterator[Frame]:
    """Images of a directory in name order (PNG, JPEG, ...)."""
    from PIL import Image

    files = sorted(p for p in Path(path).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"camera: no images in {path}")
    while True:
        for i, f in enumerate(files):
            with Image.open(f) as im:
                yield Frame(_resize(np.asarray(im.convert("RGB")), width, height), -1, i)
        if not loop:
            return


def video(path: str, width: int, height: int, loop: bool) -> Iterator[Frame]:
    """Frames of a video file, through OpenCV (``pip install opencv-python-headless``)."""
    try:
        import cv2
    except ImportError:
        raise ConfigError("camera: source 'video' needs OpenCV: pip install opencv-python-headless") from None
    while True:
        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise ConfigError(f"camera: cannot open video {path}")
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield Frame(_resize(bgr[:, :, ::-1].copy(), width, height), -1, i)
            i += 1
        cap.release()
        if not loop or i == 0:
            return


def bag(path: str, topic: str, width: int, height: int, loop: bool) -> Iterator[Frame]:
    """``sensor_msgs/Image`` or ``sensor_msgs/CompressedImage`` messages replayed from a rosbag2
    (MCAP or sqlite3), in any encoding :mod:`dvfo_core.images` reads."""
    from dvfo_core.bag import read_topic

    while True:
        n = 0
        for n, (_t, msg) in enumerate(read_topic(path, topic)):
            yield Frame(_resize(msg_to_rgb(msg), width, height), -1, n)
        if not loop:
            return


def open_source(
    source: str, path: str = "", width: int = 0, height: int = 0, loop: bool = True, topic: str = ""
) -> Iterator[Frame]:
    """The frame iterator for a ``source`` name (see :data:`SOURCES`)."""
    if source == "pattern":
        return pattern(width or 224, height or 224)
    if source in ("mnist", "digits"):
        return dataset(source, width, height, loop)
    if not path:
        raise ConfigError(f"camera: source {source!r} needs a path")
    if source != "bag" and not Path(path).exists():
        raise ConfigError(f"camera: {path} does not exist")
    if source == "folder":
        return folder(path, width, height, loop)
    if source == "video":
        return video(path, width, height, loop)
    if source == "bag":
        return bag(path, topic or "/camera/image_raw", width, height, loop)
    raise ConfigError(f"camera: unknown source {source!r}; choose one of {', '.join(SOURCES)}")
