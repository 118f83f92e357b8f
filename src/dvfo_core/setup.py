"""dvfo_core: installs with colcon (ament_python) on a robot and with ``pip install -e`` elsewhere."""

from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = "dvfo_core"
HERE = Path(__file__).resolve().parent
TOP = HERE.parent.parent  # the workspace root: config/ and launch/ live there


def _rel(pattern: str) -> list[str]:
    """Files matching ``pattern`` under the workspace root, relative to this setup.py."""
    import os

    return sorted(os.path.relpath(p, HERE) for p in glob(str(TOP / pattern)))


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    package_data={PACKAGE: ["data/*", "data/**/*", "runtime/srv/*/*.srv"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", _rel("config/*.yaml") + _rel("config/*.xml")),
        (f"share/{PACKAGE}/config/boards", _rel("config/boards/*.yaml")),
        (f"share/{PACKAGE}/config/traces", _rel("config/traces/*.csv")),
        (f"share/{PACKAGE}/config/cloud", _rel("config/cloud/*.yaml")),
        (f"share/{PACKAGE}/msg", _rel("src/dvfo_msgs/msg/*.msg")),
        (f"share/{PACKAGE}/launch", _rel("launch/*.launch.py")),  # ros2 launch dvfo_core system.launch.py
    ],
    install_requires=["numpy", "pyyaml"],
    zip_safe=True,
    maintainer="DVFO developers",
    maintainer_email="dvfo@example.org",
    description="DVFO library: device layer, twin, split models, DRL governor, runtime adapters.",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={"console_scripts": ["dvfo = dvfo_core.cli:main"]},
)
