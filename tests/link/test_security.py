"""Only the fleet's robots get in, and each robot sends and reads only under its own id."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from link_helpers import wait_for

from dvfo_core.errors import ConfigError
from dvfo_core.link.certs import Identity, init_fleet, issue_robot, robot_identity, worker_identity
from dvfo_core.link.zenoh_link import RobotLink, WorkerLink, client_config, open_session


def _robot(endpoint: str, certs: Path, robot_id: str) -> RobotLink:
    return RobotLink(open_session(client_config([endpoint], robot_identity(certs, robot_id))), robot_id)


def _worker(endpoint: str, certs: Path) -> WorkerLink:
    return WorkerLink(open_session(client_config([endpoint], worker_identity(certs))))


#: a worker, robot alpha and robot beta
Fleet = tuple[WorkerLink, RobotLink, RobotLink]


@pytest.fixture
def fleet(router: str, certs: Path) -> Iterator[Fleet]:
    """A worker and robots alpha and beta, connected to the router; closed afterwards."""
    links = (_worker(router, certs), _robot(router, certs, "alpha"), _robot(router, certs, "beta"))
    yield links
    for link in links:
        link.close()


def test_a_robot_of_the_fleet_connects(router: str, certs: Path) -> None:
    robot = _robot(router, certs, "alpha")
    try:
        assert robot.session.info.routers_zid()
    finally:
        robot.close()


def test_a_robot_certified_by_another_ca_is_refused_at_connect(router: str, tmp_path: Path) -> None:
    init_fleet(tmp_path)  # another fleet: its CA is not the router's
    stranger = issue_robot(tmp_path, "alpha")  # even under a name the fleet knows
    with pytest.raises(ConfigError, match="failed"):
        open_session(client_config([router], stranger))


def test_a_robot_without_a_certificate_is_refused_at_connect(router: str, certs: Path) -> None:
    conf = client_config([router], robot_identity(certs, "alpha"))
    tls = conf["transport"]["link"]["tls"]
    for key in ("connect_certificate", "connect_private_key", "enable_mtls"):
        del tls[key]  # server-authenticated TLS only, as a browser would connect
    with pytest.raises(ConfigError, match="failed"):
        open_session(conf)


def test_a_worker_of_another_fleet_is_refused_at_connect(router: str, certs: Path, tmp_path: Path) -> None:
    init_fleet(tmp_path)
    with pytest.raises(ConfigError, match="failed"):
        open_session(client_config([router], worker_identity(tmp_path)))


def test_a_robot_cannot_read_another_robots_results_nor_its_frames(fleet: Fleet) -> None:
    worker, alpha, beta = fleet
    spies = [
        beta.session.declare_subscriber(key)
        for key in ("dvfo/alpha/cloud_result", "dvfo/alpha/**", "dvfo/**", "**")
    ]
    assert wait_for(alpha.workers) == [worker.worker_id]
    assert alpha.send(b"frame of alpha") == worker.worker_id
    (request,) = wait_for(lambda: list(worker.requests()))
    assert (request.robot_id, request.payload) == ("alpha", b"frame of alpha")
    worker.reply("alpha", b"result for alpha")
    assert wait_for(lambda: list(alpha.results())) == [b"result for alpha"]
    time.sleep(0.3)  # anything the router let through would have arrived by now
    assert [spy.try_recv() for spy in spies] == [None] * len(spies)


def test_a_robot_cannot_send_frames_as_another_robot(fleet: Fleet) -> None:
    worker, alpha, beta = fleet
    assert wait_for(beta.workers) == [worker.worker_id]
    beta.session.put(f"dvfo/alpha/feature_map/{worker.worker_id}", b"forged by beta")
    beta.session.put("dvfo/alpha/cloud_result", b"forged result")  # nor answer in a worker's place
    beta.send(b"frame of beta")
    (request,) = wait_for(lambda: list(worker.requests()))
    assert (request.robot_id, request.payload) == ("beta", b"frame of beta")
    time.sleep(0.3)
    assert list(worker.requests()) == [] and list(alpha.results()) == []


def test_a_robot_cannot_pose_as_a_worker(fleet: Fleet) -> None:
    worker, alpha, beta = fleet
    token = beta.session.liveliness().declare_token("dvfo/workers/impostor")
    try:
        assert wait_for(alpha.workers) == [worker.worker_id]
        time.sleep(0.3)
        assert alpha.workers() == [worker.worker_id], "the impostor's token reached another robot"
    finally:
        token.undeclare()


def test_a_worker_leaving_the_pool_is_no_longer_chosen(router: str, certs: Path) -> None:
    first, second = _worker(router, certs), _worker(router, certs)
    alpha = _robot(router, certs, "alpha")
    try:
        assert sorted(wait_for(lambda: len(alpha.workers()) == 2 and alpha.workers())) == sorted(
            [first.worker_id, second.worker_id]
        )
        assert {alpha.send(b"x") for _ in range(4)} == {first.worker_id, second.worker_id}
        first.close()
        assert wait_for(lambda: alpha.workers() == [second.worker_id])
        assert {alpha.send(b"y") for _ in range(3)} == {second.worker_id}
    finally:
        second.close()
        alpha.close()


def test_missing_certificate_files_are_named(certs: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"robot-nobody\.pem does not exist"):
        client_config(["tls/127.0.0.1:1"], robot_identity(certs, "nobody"))
    with pytest.raises(ConfigError, match="no Zenoh endpoint"):
        client_config([], Identity(tmp_path, tmp_path, tmp_path))


def test_a_refused_robot_says_why_in_its_diagnostics(router: str, tmp_path: Path, dds_domain: int) -> None:
    from dvfo_core.link.offload import ZenohEdge
    from dvfo_core.runtime.dds import DdsNode

    init_fleet(tmp_path)  # a certificate of another fleet's CA
    stranger = issue_robot(tmp_path, "alpha")
    params = {
        "robot_id": "alpha",
        "offload.connect": [router],
        "offload.ca_certificate": str(stranger.ca),
        "offload.certificate": str(stranger.cert),
        "offload.private_key": str(stranger.key),
    }
    node = DdsNode("refused_head", parameter_services=False)
    edge = ZenohEdge(node, params, on_result=lambda msg: None)
    try:
        assert wait_for(lambda: edge.connector.error)
        assert not edge.up() and edge.describe().startswith("zenoh: connecting (")
        assert "failed" in edge.describe()
    finally:
        edge.close()
        node.destroy()
