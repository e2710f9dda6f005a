"""Key pairs: import or generate, per user; the fingerprint as upstream computes it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common import policy
from common.compute_db.models import KeyPair
from common.context import RequestContext
from common.errors import BadRequest, Conflict, NotFound
from common.settings import QuotaSettings
from compute_api import quotas

NAME_BEFORE_2_92 = re.compile(r"[a-zA-Z0-9 _.\-]+")
NAME_FROM_2_92 = re.compile(r"[a-zA-Z0-9 _.@\-]+")


@dataclass
class KeyPairSpec:
    name: str
    public_key: str | None
    type: str
    user_id: str


def check_name(name: object, allow_at_sign: bool) -> str:
    """A key pair's name, ``allow_at_sign`` since 2.92. Raises BadRequest."""
    pattern = NAME_FROM_2_92 if allow_at_sign else NAME_BEFORE_2_92
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or \
            name != name.strip() or not pattern.fullmatch(name):
        raise BadRequest(f"Invalid input for field/attribute name. Value: {name}. Keypair "
                         "names may contain letters, digits, spaces, '_', '-' and '.'"
                         + (" and '@'" if allow_at_sign else "")
                         + ", 1-255 characters, no leading or trailing spaces")
    return name


def ssh_fingerprint(public_key: str) -> str:
    """MD5 of the key blob, colon separated, as upstream shows it. Raises BadRequest."""
    parts = public_key.strip().split()
    try:
        serialization.load_ssh_public_key(public_key.strip().encode())
        blob = base64.b64decode(parts[1], validate=True)
    except (ValueError, IndexError, binascii.Error, TypeError, UnsupportedAlgorithm):
        # Text that is no key at all names an unknown key type to the parser.
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def x509_fingerprint(certificate: str) -> str:
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from None
    # SHA-1, as upstream: a fingerprint for display, not a security check.
    digest = cert.fingerprint(hashes.SHA1()).hex()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def generate_ssh() -> tuple[str, str]:
    """A new RSA key: (private key PEM, OpenSSH public key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} Generated-by-Kilonova"


def generate_x509(user_id: str, project_id: str) -> tuple[str, str]:
    """A new RSA key and a self-signed certificate naming its owner, as upstream made for
    x509 key pairs before 2.92: (private key PEM, certificate PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # A common name holds at most 64 characters; two 32-character ids and a dash do not fit.
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kilonova"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, project_id[:64] or "none"),
        x509.NameAttribute(NameOID.COMMON_NAME, user_id[:64] or "user")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return private, cert.public_bytes(serialization.Encoding.PEM).decode()


def create(session: Session, settings: QuotaSettings, ctx: RequestContext,
           spec: KeyPairSpec) -> tuple[KeyPair, str | None]:
    """Import or generate a key pair; returns it and the private key if generated."""
    owned = quotas.usage(session, ctx.project_id or "", spec.user_id)["key_pairs"]
    quotas.check_count(session, settings, ctx.project_id or "", "key_pairs", owned,
                       message="Quota exceeded, too many key pairs.")
    private = None
    public = spec.public_key
    if public is None:
        private, public = (generate_ssh() if spec.type == "ssh"
                           else generate_x509(spec.user_id, ctx.project_id or ""))
    fingerprint = (ssh_fingerprint(public) if spec.type == "ssh"
                   else x509_fingerprint(public))
    keypair = KeyPair(user_id=spec.user_id, name=spec.name, type=spec.type,
                      public_key=public, fingerprint=fingerprint)
    try:
        with session.begin_nested():
            session.add(keypair)
    except IntegrityError:
        raise Conflict(f"Key pair '{spec.name}' already exists.") from None
    return keypair, private


def owner(ctx: RequestContext, requested: str | None) -> str:
    """Whose key pairs a request is about: the caller's, or the ``requested`` user's
    where policy allows (requests name a user from 2.10). Raises Forbidden."""
    if requested is None or requested == ctx.user_id:
        return ctx.user_id or ""
    # The route's rule (os-keypairs:index/show/create/delete) again, on that user.
    policy.authorize_route(ctx, {"user_id": requested})
    return requested


def get(session: Session, user_id: str, name: str) -> KeyPair:
    keypair = session.scalar(sa.select(KeyPair).where(KeyPair.user_id == user_id,
                                                      KeyPair.name == name))
    if keypair is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return keypair


def list_keypairs(session: Session, user_id: str, limit: int | None = None,
                  marker: str | None = None) -> Sequence[KeyPair]:
    stmt = sa.select(KeyPair).where(KeyPair.user_id == user_id).order_by(KeyPair.name)
    if marker is not None:
        get(session, user_id, marker)
        stmt = stmt.where(KeyPair.name > marker)
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all()


def delete(session: Session, user_id: str, name: str) -> None:
    session.delete(get(session, user_id, name))
    session.flush()
