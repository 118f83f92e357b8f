"""The edge group in one container process: frames flow camera -> head without a DDS hop."""

from __future__ import annotations

from pathlib import Path

from graph_helpers import Collector, write_params

from dvfo_core.graph import load_graph
from dvfo_core.launcher import Launch
from dvfo_core.runtime.lifecycle_services import LifecycleClient

N = 12


def test_edge_container_turns_every_frame_into_a_result(tmp_path: Path, collector: Collector) -> None:
    params = write_params(
        tmp_path,
        camera={"source": "mnist", "rate_hz": 10.0, "count": N, "wait_for_subscribers": True},
        head={"shape_link": False},
    )
    launch = Launch(load_graph("edge"), params, quiet=True, container=True)
    try:
        assert list(launch.procs) == ["edge"], "one process for camera, head and governor"
        got_all = collector.spin_until(lambda: len(collector.results) >= N, 120)
        assert got_all, f"{len(collector.results)} of {N}; logs: {list(launch.last_lines['edge'])}"
        assert sorted(r.frame_seq for r in collector.results) == list(range(1, N + 1))
        assert all(r.node_wall_ms >= r.compute_wall_ms > 0 for r in collector.results)
        assert collector.spin_until(lambda: len(collector.telemetry) >= N, 10)
        for name in ("camera", "head", "governor"):  # each still a managed node with its services
            assert LifecycleClient(name, timeout_s=10).get() == "active"
    finally:
        codes = launch.shutdown()
    assert codes["edge"] == 0
