"""`dvfo certs`: a fleet CA, the router's and workers' certificates, one per robot, as Zenoh needs them."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dvfo_core.errors import ConfigError
from dvfo_core.link.certs import fleet_robots, init_fleet, issue_robot


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _cn(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def test_init_and_issue_write_v3_certificates_signed_by_the_fleet_ca(tmp_path: Path) -> None:
    written = init_fleet(tmp_path)
    robot = issue_robot(tmp_path, "rover-7")
    ca = _cert(tmp_path / "ca.pem")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for path in [p for p in written if not p.name.endswith("key.pem") and p.name != "ca.pem"] + [robot.cert]:
        cert = _cert(path)
        assert cert.version is x509.Version.v3
        cert.verify_directly_issued_by(ca)
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    router = _cert(tmp_path / "router.pem")
    sans = router.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    usage = router.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    assert _cn(_cert(robot.cert)) == "rover-7"
    assert robot.cert.name == "robot-rover-7.pem" and robot.key.name == "robot-rover-7-key.pem"
    assert fleet_robots(tmp_path) == ["rover-7"]


def test_private_keys_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    init_fleet(tmp_path)
    issue_robot(tmp_path, "r1")
    keys = sorted(tmp_path.glob("*key.pem"))
    assert [k.name for k in keys] == ["ca-key.pem", "robot-r1-key.pem", "router-key.pem", "worker-key.pem"]
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert stat.S_IMODE((tmp_path / "ca.pem").stat().st_mode) == 0o644


@pytest.mark.parametrize("robot_id", ["", "a/b", "a*", "-x", "worker@dvfo", "x" * 65, "r 1"])
def test_bad_robot_ids_are_refused(tmp_path: Path, robot_id: str) -> None:
    init_fleet(tmp_path)
    with pytest.raises(ConfigError, match="bad robot id"):
        issue_robot(tmp_path, robot_id)


def test_clear_errors_for_a_missing_directory_a_missing_ca_and_an_existing_ca(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        init_fleet(tmp_path / "nope")
    with pytest.raises(ConfigError, match="no fleet CA"):
        issue_robot(tmp_path, "r1")
    init_fleet(tmp_path)
    with pytest.raises(ConfigError, match="use --force"):
        init_fleet(tmp_path)


def test_cli_prints_the_files_and_one_line_errors(tmp_path: Path) -> None:
    def dvfo(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "dvfo_core.cli", "certs", *args], capture_output=True, text=True
        )

    init = dvfo("init", "--dir", str(tmp_path))
    assert init.returncode == 0 and "ca.pem" in init.stdout and "router-key.pem" in init.stdout
    issue = dvfo("issue", "--dir", str(tmp_path), "amr1")
    assert issue.returncode == 0 and issue.stdout.split() == [
        str(tmp_path / "robot-amr1.pem"),
        str(tmp_path / "robot-amr1-key.pem"),
    ]
    bad = dvfo("issue", "--dir", str(tmp_path / "missing"), "amr1")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "does not exist" in bad.stderr
