"""The region's small certificate authority for RDP (TLS) certificates of session hosts.

The CA is created once on the control machine in ``state_dir()/pki`` and issues one
certificate per host for its FQDN (and short name), plus the name of the pool the host
serves (``--also vdi-<slug>.<domain>``), so a client that connects through the broker
and verifies the certificate accepts it. Issuing is idempotent: a certificate
that is valid for more than ``RENEW_BEFORE`` and names the right host is kept as it is.

    python -m regionhus.vdi.pki issue --name vdi-kongsberg-1 --fqdn vdi-...internal \
        [--also vdi-kongsberg.ad...internal]

prints one JSON line: {"changed": bool, "cert": path, "key": path, "ca": path}.
Production would swap this for the region's real CA; the role only needs the files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from regionhus.paths import state_dir

CA_NAME = "Kongsbergregionen lab RDP CA"
CA_DAYS = 3650
CERT_DAYS = 397
RENEW_BEFORE = dt.timedelta(days=30)


def pki_dir() -> Path:
    return state_dir() / "pki"


@dataclass(frozen=True)
class Issued:
    changed: bool
    cert: Path
    key: Path
    ca: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ensure_ca(directory: Path | None = None) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The CA's certificate and key, created on first use."""
    directory = directory or pki_dir()
    cert_path, key_path = directory / "ca.crt", directory / "ca.key"
    if cert_path.is_file() and key_path.is_file():
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return x509.load_pem_x509_certificate(cert_path.read_bytes()), key
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA384())
    )
    _write(key_path, _key_pem(key), 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


def _names(cert: x509.Certificate) -> set[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return set()
    return set(san.value.get_values_for_type(x509.DNSName))


def _current(cert_path: Path, key_path: Path, ca: x509.Certificate, names: set[str]) -> bool:
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    return (
        cert.issuer == ca.subject
        and _names(cert) == names
        and cert.not_valid_after_utc - _now() > RENEW_BEFORE
        and cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    )


def issue(
    name: str, fqdn: str, directory: Path | None = None, also: tuple[str, ...] = ()
) -> Issued:
    """A certificate for host `name` (CN = its FQDN; `also`: further DNS names, such as
    its pool's), issued only when needed (a changed set of names issues anew)."""
    directory = directory or pki_dir()
    ca_cert, ca_key = ensure_ca(directory)
    cert_path = directory / "hosts" / f"{name}.crt"
    key_path = directory / "hosts" / f"{name}.key"
    names = {fqdn, name, *also}
    if _current(cert_path, key_path, ca_cert, names):
        return Issued(False, cert_path, key_path, directory / "ca.crt")
    # RSA for the host: every RDP client takes it (some older ones choke on ECDSA).
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, fqdn)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in sorted(names)]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return Issued(True, cert_path, key_path, directory / "ca.crt")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m regionhus.vdi.pki")
    sub = parser.add_subparsers(dest="command", required=True)
    issue_cmd = sub.add_parser("issue", help="issue (or keep) a host's certificate")
    issue_cmd.add_argument("--name", required=True)
    issue_cmd.add_argument("--fqdn", required=True)
    issue_cmd.add_argument("--also", action="append", default=[], help="another DNS name")
    args = parser.parse_args(argv)
    result = issue(args.name, args.fqdn, also=tuple(args.also))
    json.dump(
        {
            "changed": result.changed,
            "cert": str(result.cert),
            "key": str(result.key),
            "ca": str(result.ca),
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
