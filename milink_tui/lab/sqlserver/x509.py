"""Real X.509 certificates for CREATE CERTIFICATE, so CERTENCODED blobs are genuine DER.

The managed-instance side (and the app) parse what the SQL Server side exports; generating
real self-signed RSA-2048/SHA-256 certificates keeps that exchange honest.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass
class CertInfo:
    """What sys.certificates shows about a certificate, parsed from its DER."""

    der: bytes
    subject: str
    issuer: str
    serial: str  # as sys.certificates.cert_serial_number shows it
    start: dt.datetime
    expiry: dt.datetime
    key_length: int
    private_key_pem: bytes | None = None


def _display_name(name: x509.Name) -> str:
    """A subject/issuer the way sys.certificates shows it: just the CN when that is all there is."""
    attrs = list(name)
    if len(attrs) == 1 and attrs[0].oid == NameOID.COMMON_NAME:
        return str(attrs[0].value)
    parts = []
    for attr in reversed(attrs):
        label = {NameOID.COMMON_NAME: "CN", NameOID.ORGANIZATION_NAME: "O", NameOID.COUNTRY_NAME: "C",
                 NameOID.ORGANIZATIONAL_UNIT_NAME: "OU", NameOID.LOCALITY_NAME: "L",
                 NameOID.STATE_OR_PROVINCE_NAME: "S"}.get(attr.oid, attr.oid.dotted_string)
        parts.append(f"{label}={attr.value}")
    return ", ".join(parts)


def _serial_text(serial: int) -> str:
    raw = serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big")[:16]
    return " ".join(f"{b:02x}" for b in raw)


def _cn(subject: str) -> str:
    """X.509 caps a common name at 64 bytes of UTF-8; sys.certificates keeps the full subject."""
    cn = subject or " "
    while len(cn.encode("utf-8")) > 64:
        cn = cn[:-1]
    return cn


def generate(subject: str, start: dt.datetime, expiry: dt.datetime) -> CertInfo:
    """A self-signed certificate like CREATE CERTIFICATE ... WITH SUBJECT makes (RSA 2048, SHA-256)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _cn(subject))])
    serial = int.from_bytes(os.urandom(16), "big") >> 1 or 1
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start.replace(tzinfo=dt.timezone.utc))
        .not_valid_after(expiry.replace(tzinfo=dt.timezone.utc))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return CertInfo(cert.public_bytes(serialization.Encoding.DER), subject, subject, _serial_text(serial),
                    start, expiry, 2048, pem)


def parse(data: bytes) -> CertInfo:
    """Parse a DER (or PEM) certificate; raises ValueError when it is not one."""
    if data.lstrip().startswith(b"-----BEGIN"):
        cert = x509.load_pem_x509_certificate(data)
    else:
        cert = x509.load_der_x509_certificate(data)
    key = cert.public_key()
    key_length = getattr(key, "key_size", 0)
    return CertInfo(
        cert.public_bytes(serialization.Encoding.DER),
        _display_name(cert.subject),
        _display_name(cert.issuer),
        _serial_text(cert.serial_number),
        cert.not_valid_before_utc.replace(tzinfo=None),
        cert.not_valid_after_utc.replace(tzinfo=None),
        key_length,
    )
