"""The fleet's certificates: one CA, the router's certificate, the tail workers' and one per robot.

Everything is PEM in one directory (``dvfo certs init|issue --dir D``):

================================  =====================================================
``ca.pem`` / ``ca-key.pem``        the fleet CA (keep ``ca-key.pem`` off robots and workers)
``router.pem`` / ``router-key.pem``  the Zenoh router (CN ``router@dvfo``; SANs: DNS names + IPs)
``worker.pem`` / ``worker-key.pem``  every tail worker (CN ``worker@dvfo``)
``robot-<id>.pem`` / ``robot-<id>-key.pem``  one robot (CN = its robot id)
================================  =====================================================

Certificates are X.509 v3 (basic constraints, key usage, extended key usage, subject and authority
key identifiers, subject alternative names: the TLS stack of Zenoh, rustls/webpki, refuses v1
certificates and names only in the CN). Keys are ECDSA P-256, PKCS#8, files mode 0600. The common
name is what the router's access control matches (:mod:`dvfo_core.link.acl`): a robot id never
contains ``@``, so no robot can be issued the router's or the workers' name.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from dvfo_core.errors import ConfigError

#: Robot ids: what a key expression chunk and a file name can carry safely.
ROBOT_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
ROUTER_CN = "router@dvfo"
WORKER_CN = "worker@dvfo"
CA_CN = "DVFO fleet CA"
DEFAULT_DAYS = 825  #: what TLS clients accept for a leaf certificate
CA_DAYS = 3650


@dataclass(frozen=True)
class Identity:
    """A certificate, its key and the CA that vouches for it (the three files a TLS side loads)."""

    ca: Path
    cert: Path
    key: Path


def ca_files(directory: Path) -> tuple[Path, Path]:
    """``(ca.pem, ca-key.pem)`` of a certificate directory."""
    return directory / "ca.pem", directory / "ca-key.pem"


def router_identity(directory: Path) -> Identity:
    """The router's files in ``directory``."""
    return Identity(directory / "ca.pem", directory / "router.pem", directory / "router-key.pem")


def worker_identity(directory: Path) -> Identity:
    """The tail workers' files in ``directory``."""
    return Identity(directory / "ca.pem", directory / "worker.pem", directory / "worker-key.pem")


def robot_identity(directory: Path, robot_id: str) -> Identity:
    """Robot ``robot_id``'s files in ``directory``."""
    check_robot_id(robot_id)
    return Identity(
        directory / "ca.pem", directory / f"robot-{robot_id}.pem", directory / f"robot-{robot_id}-key.pem"
    )


def check_robot_id(robot_id: str) -> str:
    """``robot_id`` if it is a valid robot id (letters, digits, ``_``, ``-``; 1-64 characters)."""
    if not ROBOT_ID.fullmatch(robot_id):
        raise ConfigError(
            f"bad robot id {robot_id!r}: use 1-64 letters, digits, '_' or '-' (not starting with '-')"
        )
    return robot_id


def _check_dir(directory: Path) -> None:
    if not directory.is_dir():
        raise ConfigError(f"certificate directory {directory} does not exist (create it first)")


def _write(path: Path, data: bytes, private: bool) -> None:
    """Write ``data`` to ``path`` atomically; private files are created 0600 (never readable by others)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _new_key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def _build(
    cn: str,
    key,
    issuer_cert,
    issuer_key,
    days: int,
    *,
    ca: bool,
    server: bool = False,
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    subject = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "DVFO"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )
    issuer = subject if issuer_cert is None else issuer_cert.subject
    signer = key if issuer_key is None else issuer_key
    now = dt.datetime.now(dt.timezone.utc)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        b = b.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
        b = b.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        if not names:  # a client certificate still carries a SAN: its name as a DNS-like label
            names = [x509.DNSName(cn.replace("@", ".").replace("_", "-").lower())]
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return b.sign(signer, hashes.SHA256())


def _load_ca(directory: Path):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    _check_dir(directory)
    cert_path, key_path = ca_files(directory)
    if not cert_path.is_file() or not key_path.is_file():
        raise ConfigError(
            f"{directory} has no fleet CA ({cert_path.name}, {key_path.name}): "
            f"run `dvfo certs init --dir {directory}`"
        )
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except ValueError as exc:
        raise ConfigError(f"{directory}: unreadable CA files: {exc}") from None
    return cert, key


def _issue(directory: Path, ident: Identity, cn: str, days: int, **names: tuple[str, ...]) -> Identity:
    ca_cert, ca_key = _load_ca(directory)
    key = _new_key()
    cert = _build(cn, key, ca_cert, ca_key, days, ca=False, server=bool(names), **names)
    _write(ident.key, _key_pem(key), private=True)
    _write(ident.cert, _cert_pem(cert), private=False)
    return ident


def init_fleet(
    directory: Path,
    dns: tuple[str, ...] = ("localhost",),
    ips: tuple[str, ...] = ("127.0.0.1",),
    days: int = DEFAULT_DAYS,
    force: bool = False,
) -> list[Path]:
    """Make the fleet CA, the router's certificate (valid for ``dns`` names and ``ips``) and the
    workers' certificate in ``directory``; returns the files written.

    An existing CA is kept unless ``force``: replacing it would orphan every robot certificate.
    """
    _check_dir(directory)
    cert_path, key_path = ca_files(directory)
    if cert_path.exists() and not force:
        raise ConfigError(
            f"{cert_path} exists: a new CA would invalidate every robot certificate (use --force)"
        )
    for ip in ips:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ConfigError(f"bad router IP address {ip!r}") from None
    key = _new_key()
    cert = _build(CA_CN, key, None, None, CA_DAYS, ca=True)
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, _cert_pem(cert), private=False)
    router = _issue(directory, router_identity(directory), ROUTER_CN, days, dns=dns, ips=ips)
    worker = _issue(directory, worker_identity(directory), WORKER_CN, days)
    return [cert_path, key_path, router.cert, router.key, worker.cert, worker.key]


def issue_robot(directory: Path, robot_id: str, days: int = DEFAULT_DAYS) -> Identity:
    """Issue robot ``robot_id``'s certificate (CN = the robot id) and key, signed by the fleet CA."""
    check_robot_id(robot_id)
    return _issue(directory, robot_identity(directory, robot_id), robot_id, days)


def common_name(cert_path: Path) -> str:
    """The subject common name of a PEM certificate."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else ""


def fleet_robots(directory: Path) -> list[str]:
    """The robot ids that have a certificate in ``directory`` (what the router's ACL admits)."""
    robots = []
    for path in sorted(directory.glob("robot-*.pem")):
        if path.name.endswith("-key.pem"):
            continue
        cn = common_name(path)
        if ROBOT_ID.fullmatch(cn) and path.name == f"robot-{cn}.pem":
            robots.append(cn)
    return robots


def check_identity(ident: Identity) -> Identity:
    """``ident`` if its three files exist; one clear error naming the first missing one."""
    for path in (ident.ca, ident.cert, ident.key):
        if not Path(path).is_file():
            raise ConfigError(f"TLS file {path} does not exist (see `dvfo certs --help`)")
    return ident
