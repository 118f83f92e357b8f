"""dvfo_edge: installs with colcon (ament_python) on a robot and with ``pip install -e`` elsewhere."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "dvfo_edge"
CONSOLE_SCRIPTS = [
    "camera_node = dvfo_edge.camera_node:main",
    "head_node = dvfo_edge.head_node:main",
    "governor_node = dvfo_edge.governor_node:main",
]

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="DVFO developers",
    maintainer_email="dvfo@example.org",
    description="DVFO edge nodes.",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={"console_scripts": CONSOLE_SCRIPTS},
)
