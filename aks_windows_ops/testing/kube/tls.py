"""A private certificate authority for the loopback servers of the twin (Kubernetes API and ARM).

kubectl sends a bearer token only over TLS, and it verifies the server against the kubeconfig's
``certificate-authority-data``; the Azure CLI verifies ARM against ``REQUESTS_CA_BUNDLE``. So each process makes
one CA and one server certificate for ``127.0.0.1``, ``::1`` and ``localhost`` (ECDSA P-256 keys: fast to make,
accepted by Go's and OpenSSL's verifiers), with the extensions strict verifiers require (key identifiers, key
usage, ``serverAuth``). The keys exist only in memory and in one private temporary directory.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import ipaddress
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["TlsMaterial", "loopback_tls"]

_LOCK = threading.Lock()
_CACHED: TlsMaterial | None = None


@dataclass(frozen=True)
class TlsMaterial:
    """A CA certificate and a server certificate and key, PEM encoded, plus files holding them.

    Attributes:
        ca_pem: the CA certificate clients trust.
        cert_pem: the server certificate (signed by the CA).
        key_pem: the server's private key (unencrypted PKCS#8).
        directory: a private (0700) directory with ``ca.pem``, ``server.pem`` and ``server.key``.
    """

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes
    directory: Path

    @property
    def ca_file(self) -> Path:
        """The CA certificate as a file (for ``ssl_ca_cert``, ``REQUESTS_CA_BUNDLE`` or ``--certificate-authority``)."""
        return self.directory / "ca.pem"

    def server_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` for the server side."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.directory / "server.pem", self.directory / "server.key")
        context.set_alpn_protocols(["http/1.1"])
        return context

    def client_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` that trusts only this CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def _key_usage(*, signs_certificates: bool) -> Any:
    """Digital signatures, plus certificate and CRL signing for a CA (an ``x509.KeyUsage``)."""
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _make() -> TlsMaterial:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = _dt.datetime.now(_dt.timezone.utc)
    not_before, not_after = now - _dt.timedelta(days=1), now + _dt.timedelta(days=365)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aks-windows-ops twin CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage(signs_certificates=True),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(signs_certificates=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    directory = Path(tempfile.mkdtemp(prefix="aks-windows-ops-tls-"))
    atexit.register(shutil.rmtree, directory, True)
    (directory / "ca.pem").write_bytes(ca_pem)
    (directory / "server.pem").write_bytes(cert_pem + ca_pem)
    key_file = directory / "server.key"
    key_file.touch(mode=0o600)
    key_file.write_bytes(key_pem)
    return TlsMaterial(ca_pem=ca_pem, cert_pem=cert_pem, key_pem=key_pem, directory=directory)


def loopback_tls() -> TlsMaterial:
    """This process's CA and loopback server certificate, made on first use."""
    global _CACHED
    with _LOCK:
        if _CACHED is None:
            _CACHED = _make()
        return _CACHED
