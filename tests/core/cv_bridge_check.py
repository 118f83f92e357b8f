"""Run by tests/core/test_cv_bridge.py under the Python that has a real cv_bridge (Debian's
``python3-cv-bridge``, ``make setup-system``): every encoding and compressed format the camera
sends, read by :mod:`dvfo_core.images` through cv_bridge and through its own conversion. Prints
one JSON object: per case, whether cv_bridge answered it and the largest pixel difference between
the two paths (or the error each path gave).

    /usr/bin/python3 cv_bridge_check.py    (PYTHONPATH naming src/dvfo_core)
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import sensor_msgs.msg as sensor_msgs  # cv_bridge's own message classes

from dvfo_core import images
from dvfo_core.errors import ImageError

RAW = ("bgr8", "rgb8", "mono8", "rgba8", "bgra8", "yuv422", "yuv422_yuy2", "uyvy")
COMPRESSED = ("jpeg", "png")


def spied_bridge() -> tuple[Any, list[str]]:
    """The real CvBridge the module found, with a record of which of its methods answered."""
    bridge = images.cv_bridge()
    assert bridge is not None and type(bridge).__module__.startswith("cv_bridge"), bridge
    answered: list[str] = []
    for name in ("imgmsg_to_cv2", "compressed_imgmsg_to_cv2"):
        method = getattr(bridge, name)

        def spy(*args: Any, _method: Any = method, _name: str = name, **kwargs: Any) -> Any:
            out = _method(*args, **kwargs)  # raises what cv_bridge raises: then it did not answer
            answered.append(_name)
            return out

        setattr(bridge, name, spy)
    return bridge, answered


def both_paths(read: Any, msg: Any, answered: list[str]) -> dict[str, Any]:
    """Read ``msg`` with cv_bridge present, then with it hidden; compare."""
    found = images.cv_bridge
    answered.clear()
    try:
        via_bridge = read(msg)
    except ImageError as err:
        via_bridge = f"ImageError: {err}"
    bridged = bool(answered)
    images.cv_bridge = lambda: None  # the module's own conversion
    try:
        own = read(msg)
    except ImageError as err:
        own = f"ImageError: {err}"
    finally:
        images.cv_bridge = found
    if isinstance(via_bridge, str) or isinstance(own, str):
        return {"bridged": bridged, "errors": [str(via_bridge)[:200], str(own)[:200]]}
    assert via_bridge.shape == own.shape and via_bridge.dtype == own.dtype == np.uint8
    diff = np.abs(via_bridge.astype(int) - own.astype(int))
    return {"bridged": bridged, "max_diff": int(diff.max()), "shape": list(own.shape)}


def main() -> None:
    """Every case, printed as JSON."""
    _bridge, answered = spied_bridge()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:64]
    smooth = np.stack([xx * 4, yy * 5, (xx + yy) * 2], -1).astype(np.uint8)  # JPEG-friendly
    noise = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    out: dict[str, Any] = {}
    for encoding in RAW:
        data, step = images.encode(noise, encoding)
        msg = sensor_msgs.Image(
            height=48, width=64, encoding=encoding, is_bigendian=0, step=step, data=np.asarray(data).tobytes()
        )
        out[f"raw:{encoding}"] = both_paths(images.image_from_msg, msg, answered)
    for fmt in COMPRESSED:
        data, label = images.compress(smooth, fmt)
        msg = sensor_msgs.CompressedImage(format=label, data=bytes(data))
        out[f"compressed:{fmt}"] = both_paths(images.image_from_compressed, msg, answered)
    bad = sensor_msgs.Image(height=48, width=64, encoding="rgb8", step=1, data=bytes(48 * 64 * 3))
    out["raw:short-step"] = both_paths(images.image_from_msg, bad, answered)
    odd = sensor_msgs.Image(height=2, width=2, encoding="32FC1", step=8, data=bytes(16))
    out["raw:32FC1"] = both_paths(images.image_from_msg, odd, answered)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
