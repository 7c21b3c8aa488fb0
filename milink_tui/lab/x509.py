"""Real X.509 certificates for the lab: endpoint certificates must verify like real ones.

The replication engine compares thumbprints (SHA-1 of the DER), so a certificate uploaded
to the wrong place or re-created with the same name does not match, just as on real systems.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@lru_cache(maxsize=4)
def _key(slot: int) -> rsa.RSAPrivateKey:
    """RSA key generation costs ~50 ms; the lab reuses a few keys (certificates still differ)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed_der(subject: str, start: dt.datetime, expiry: dt.datetime, issuer: str | None = None,
                    serial: int | None = None, slot: int = 0) -> bytes:
    """A self-signed (or nominally issued) certificate's DER for ``subject``, valid start..expiry."""
    key = _key(slot)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject[:64] or "lab")])
    issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (issuer or subject)[:64] or "lab")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start.replace(tzinfo=dt.timezone.utc) if start.tzinfo is None else start)
        .not_valid_after(expiry.replace(tzinfo=dt.timezone.utc) if expiry.tzinfo is None else expiry)
        .sign(key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)
