"""Token checks shared by the HTTP services.

Two strategies:

- ``noauth`` (development): the caller says who it is (``common/noauth.py``).
- ``builtin``: tokens issued by the identity subset (``compute_api/identity``). A token
  is self-contained and signed with HMAC-SHA256 under a key kept in the data directory,
  so any process holding the key (compute API, placement) verifies its signature; then,
  as Keystone does with Fernet tokens, ``common.token_check`` re-reads the user, its
  roles and the revocations, so a deleted user, a removed role or a revoked token stops
  working at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypedDict, runtime_checkable

from common.context import RequestContext, new_request_id
from common.errors import ConfigError, Unauthorized
from common.noauth import noauth_context

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.orm import Session, sessionmaker

    from common.keystone import KeystoneValidator
    from common.settings import Settings

TOKEN_PREFIX = "kn1"
ALL_ROLES = ("admin", "manager", "member", "reader", "service")
# admin and manager imply member implies reader, as Keystone's default implied roles do
# (upstream policies name manager for project managers); service (what compute agents'
# credentials hold) implies nothing.
IMPLIED = {"admin": ("admin", "member", "reader"),
           "manager": ("manager", "member", "reader"), "member": ("member", "reader"),
           "reader": ("reader",), "service": ("service",)}
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


@runtime_checkable
class TokenValidator(Protocol):
    """Checks tokens some other way (an external Keystone); may block on I/O."""

    def context(self, token: str, request_id: str) -> RequestContext:
        """The caller of ``token``. Raises Unauthorized."""
        ...


# What ``context_from_token`` checks tokens with: "noauth", a TokenSigner (builtin),
# or a TokenValidator (keystone).
Verifier = str | TokenSigner | TokenValidator


def verifier_blocks(verifier: Verifier) -> bool:
    """Whether checking a token may wait on the network (run it in a worker thread)."""
    return isinstance(verifier, TokenValidator)


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
_KEYSTONES: dict[str, KeystoneValidator] = {}
_KEYSTONE_LOCK = threading.Lock()


def token_verifier(settings: Settings,
                   identity: sessionmaker[Session] | None = None) -> Verifier:
    """What ``context_from_token`` needs as ``strategy`` for these settings.

    With builtin auth, tokens are checked against the identity records in the compute
    database, read through ``identity``. Raises ConfigError without it.
    """
    if settings.auth.strategy == "noauth":
        return "noauth"
    if settings.auth.strategy == "keystone":
        return _keystone(settings)
    from common.token_check import BuiltinTokens

    if identity is None:
        raise ConfigError("builtin tokens are checked against the compute database")
    return BuiltinTokens(builtin_signer(settings), identity)


def builtin_signer(settings: Settings) -> TokenSigner:
    """The signer of this cloud's builtin tokens (only control-plane hosts hold the key)."""
    signer = TokenSigner(load_key(key_path(settings)))
    _SIGNERS[signer.key_id] = signer
    return signer


def _keystone(settings: Settings) -> KeystoneValidator:
    """One validator (service user session, token cache) per Keystone configuration."""
    from common.keystone import KeystoneValidator

    key = settings.keystone.model_dump_json()
    with _KEYSTONE_LOCK:
        if key not in _KEYSTONES:
            _KEYSTONES[key] = KeystoneValidator(settings.keystone)
        return _KEYSTONES[key]


def service_auth(settings: Settings) -> httpx.Auth | None:
    """What a service's HTTP client authenticates with when a static token will not do:
    with Keystone, the service user's token, renewed as it expires."""
    if settings.auth.strategy != "keystone":
        return None
    from common.keystone import ServiceAuth

    return ServiceAuth(_keystone(settings))


class ClientAuth(TypedDict):
    token: str
    auth: httpx.Auth | None


def client_auth(settings: Settings) -> ClientAuth:
    """``token=`` and ``auth=`` for a service's HTTP client (``PlacementClient``)."""
    if settings.auth.strategy == "keystone":
        return {"token": "", "auth": service_auth(settings)}
    return {"token": service_token(settings), "auth": None}


def service_token(settings: Settings) -> str:
    """A token the services send to each other (placement); admin, never expiring.

    With Keystone: the service user's current token (prefer ``service_auth``).
    """
    if settings.auth.strategy == "keystone":
        return _keystone(settings).service_token()
    if settings.auth.strategy != "builtin":
        return "admin:admin"
    token, _ = builtin_signer(settings).issue(SERVICE_USER, SERVICE_PROJECT, ALL_ROLES, None,
                              methods=("service",))
    return token


def _signer_for(token: str) -> TokenSigner:
    try:
        key_id = json.loads(_unb64(token.split(".")[1]))["k"]
        return _SIGNERS[key_id]
    except (IndexError, ValueError, KeyError, TypeError, binascii.Error):
        raise Unauthorized("The request you have made requires authentication.") from None


def context_from_token(
    token: str | None, strategy: Verifier, request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> RequestContext:
    """Turn a request's token into a RequestContext. Raises Unauthorized.

    ``headers`` (the request's) matter only to ``noauth``, which reads roles and scope
    from them.
    """
    if not token:
        raise Unauthorized("The request you have made requires authentication.")
    if isinstance(strategy, TokenValidator):
        return strategy.context(token, request_id or new_request_id())
    if isinstance(strategy, TokenSigner) or strategy == "builtin":
        signer = strategy if isinstance(strategy, TokenSigner) else _signer_for(token)
        data = signer.verify(token)
        return RequestContext(user_id=data.user_id, project_id=data.project_id,
                              roles=expand_roles(data.roles),
                              request_id=request_id or new_request_id())
    if strategy != "noauth":
        raise Unauthorized(f"auth strategy {strategy!r} is not available")
    return noauth_context(token, headers or {}, request_id or new_request_id())
