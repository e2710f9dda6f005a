"""Token checks shared by the HTTP services.

Two strategies:

- ``noauth`` (development): the token is ``user:project`` (``X-Auth-Token``) and the
  user ``admin`` carries the admin role.
- ``builtin``: tokens issued by the identity subset (``compute_api/identity``). A token
  is self-contained and signed with HMAC-SHA256 under a key kept in the data directory,
  so any process holding the key (compute API, placement) verifies it without a database
  round trip. Like Keystone's Fernet tokens, roles are fixed when the token is issued;
  revoking a role takes effect when the token expires (``[identity] token_ttl``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from common.context import RequestContext, new_request_id
from common.errors import Unauthorized

if TYPE_CHECKING:
    from common.settings import Settings

TOKEN_PREFIX = "kn1"
ALL_ROLES = ("admin", "member", "reader")
# Each role implies the ones after it, as Keystone's default implied roles do.
IMPLIED = {"admin": ("admin", "member", "reader"), "member": ("member", "reader"),
           "reader": ("reader",)}
SERVICE_USER = "kilonova-service"
SERVICE_PROJECT = "service"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def expand_roles(roles: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The roles with the ones they imply, in a stable order."""
    have = {implied for role in roles for implied in IMPLIED.get(role, (role,))}
    return (*[r for r in ALL_ROLES if r in have], *sorted(have - set(ALL_ROLES)))


@dataclass(frozen=True)
class TokenData:
    user_id: str
    project_id: str
    roles: tuple[str, ...]
    methods: tuple[str, ...]
    issued_at: float
    expires_at: float | None
    audit_id: str


class TokenSigner:
    """Issues and verifies builtin tokens under one HMAC key."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self.key_id = hashlib.sha256(b"kid:" + key).hexdigest()[:16]

    def issue(self, user_id: str, project_id: str, roles: tuple[str, ...] | list[str],
              ttl: int | None, methods: tuple[str, ...] = ("password",)) -> tuple[str, TokenData]:
        now = time.time()
        data = TokenData(user_id=user_id, project_id=project_id, roles=tuple(roles),
                         methods=methods, issued_at=now,
                         expires_at=None if ttl is None else now + ttl,
                         audit_id=_b64(secrets.token_bytes(16)))
        payload = json.dumps({"u": data.user_id, "p": data.project_id, "r": list(data.roles),
                              "m": list(methods), "i": data.issued_at, "e": data.expires_at,
                              "a": data.audit_id, "k": self.key_id},
                             separators=(",", ":")).encode()
        body = f"{TOKEN_PREFIX}.{_b64(payload)}"
        return f"{body}.{self._sign(body)}", data

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def verify(self, token: str) -> TokenData:
        """The token's content. Raises Unauthorized if forged, malformed or expired."""
        prefix, _, rest = token.partition(".")
        payload_text, _, signature = rest.partition(".")
        body = f"{prefix}.{payload_text}"
        if prefix != TOKEN_PREFIX or not hmac.compare_digest(self._sign(body), signature):
            raise Unauthorized("The request you have made requires authentication.")
        try:
            raw = json.loads(_unb64(payload_text))
            data = TokenData(user_id=str(raw["u"]), project_id=str(raw["p"]),
                             roles=tuple(raw["r"]), methods=tuple(raw["m"]),
                             issued_at=float(raw["i"]),
                             expires_at=None if raw["e"] is None else float(raw["e"]),
                             audit_id=str(raw["a"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise Unauthorized("The request you have made requires authentication.") from None
        if data.expires_at is not None and data.expires_at <= time.time():
            raise Unauthorized("The token has expired.")
        return data


def key_path(settings: Settings) -> Path:
    configured = settings.identity.key_file
    return Path(configured) if configured else settings.data_dir / "keys" / "token.key"


def load_key(path: Path) -> bytes:
    """Read the signing key, creating it (mode 0600) if it does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    text = path.read_text().strip()
    if len(text) < 32:
        raise Unauthorized(f"token key {path} is too short")
    return text.encode()


# Signers built in this process, by key id: lets callers that only pass the strategy
# name (``context_from_token(token, "builtin")``) verify tokens of any cloud this
# process serves. Callers should prefer passing the TokenSigner itself.
_SIGNERS: dict[str, TokenSigner] = {}


def token_verifier(settings: Settings) -> str | TokenSigner:
    """What ``context_from_token`` needs as ``strategy`` for these settings."""
    if settings.auth.strategy == "noauth":
        return "noauth"
    signer = TokenSigner(load_key(key_path(settings)))
    _SIGNERS[signer.key_id] = signer
    return signer


def service_token(settings: Settings) -> str:
    """A token the services send to each other (placement); admin, never expiring."""
    verifier = token_verifier(settings)
    if isinstance(verifier, str):
        return "admin:admin"
    token, _ = verifier.issue(SERVICE_USER, SERVICE_PROJECT, ALL_ROLES, None,
                              methods=("service",))
    return token


def _signer_for(token: str) -> TokenSigner:
    try:
        key_id = json.loads(_unb64(token.split(".")[1]))["k"]
        return _SIGNERS[key_id]
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error):
        raise Unauthorized("The request you have made requires authentication.") from None


def context_from_token(
    token: str | None, strategy: str | TokenSigner, request_id: str | None = None
) -> RequestContext:
    """Turn a request's token into a RequestContext. Raises Unauthorized."""
    if not token:
        raise Unauthorized("The request you have made requires authentication.")
    if isinstance(strategy, TokenSigner) or strategy == "builtin":
        signer = strategy if isinstance(strategy, TokenSigner) else _signer_for(token)
        data = signer.verify(token)
        return RequestContext(user_id=data.user_id, project_id=data.project_id,
                              roles=expand_roles(data.roles),
                              request_id=request_id or new_request_id())
    if strategy != "noauth":
        raise Unauthorized(f"auth strategy {strategy!r} is not available")
    user, sep, project = token.partition(":")
    if not sep or not user or not project:
        raise Unauthorized("noauth tokens have the form 'user:project'")
    roles = ("admin", "member", "reader") if user == "admin" else ("member", "reader")
    return RequestContext(
        user_id=user, project_id=project, roles=roles,
        request_id=request_id or new_request_id(),
    )
