"""``[auth] strategy = keystone``: tokens checked by an external Keystone.

keystonemiddleware's ``auth_token`` is a WSGI (WebOb) filter configured through
oslo.config's global options; our APIs are ASGI apps configured by one settings object,
so wrapping them would take a WSGI bridge per request and a second configuration
system. The protocol it speaks is small, so we speak it directly with keystoneauth1:
the service user (``[keystone]``) authenticates with its password (keystoneauth
re-authenticates before its token expires and after a 401), and each caller's token is
validated with ``GET /v3/auth/tokens`` (``X-Subject-Token``). Valid tokens are
remembered for ``cache_ttl`` seconds, never past their expiry.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from common.auth import expand_roles
from common.context import RequestContext
from common.errors import ServiceUnavailable, Unauthorized
from common.settings import KeystoneSettings

LOG = logging.getLogger(__name__)
CACHE_SIZE = 10000
INVALID = "The request you have made requires authentication."


def v3_url(auth_url: str) -> str:
    """The identity v3 base URL for an ``auth_url`` given with or without ``/v3``."""
    url = auth_url.rstrip("/")
    return url if url.endswith("/v3") else f"{url}/v3"


@dataclass(frozen=True)
class _Valid:
    user_id: str
    project_id: str | None
    roles: tuple[str, ...]
    until: float


def _expiry(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class KeystoneValidator:
    """Validates tokens against Keystone as the configured service user."""

    def __init__(self, cfg: KeystoneSettings) -> None:
        if not cfg.auth_url or not cfg.password:
            raise Unauthorized("[auth] strategy = keystone needs [keystone] auth_url and "
                               "password")
        self.cfg = cfg
        self.base = v3_url(cfg.auth_url)
        plugin = v3.Password(auth_url=self.base, username=cfg.username,
                             password=cfg.password, project_name=cfg.project_name,
                             user_domain_name=cfg.user_domain_name,
                             project_domain_name=cfg.project_domain_name)
        self.session = ks_session.Session(auth=plugin, timeout=cfg.timeout)
        self._cache: OrderedDict[str, _Valid] = OrderedDict()
        self._lock = threading.Lock()

    def service_token(self) -> str:
        """The service user's current token (fetched or renewed as needed)."""
        try:
            token = self.session.get_token()
        except ks_exceptions.ClientException as exc:
            raise ServiceUnavailable(f"Keystone at {self.base}: {exc}") from exc
        if not token:
            raise ServiceUnavailable(f"Keystone at {self.base} issued no service token")
        return str(token)

    def invalidate_service_token(self) -> None:
        self.session.invalidate()

    def context(self, token: str, request_id: str) -> RequestContext:
        """The caller of ``token``. Raises Unauthorized, or ServiceUnavailable."""
        key = hashlib.sha256(token.encode()).hexdigest()
        valid = self._cached(key)
        if valid is None:
            valid = self._validate(token)
            self._remember(key, valid)
        return RequestContext(user_id=valid.user_id, project_id=valid.project_id,
                              roles=expand_roles(list(valid.roles)), request_id=request_id)

    def _cached(self, key: str) -> _Valid | None:
        with self._lock:
            valid = self._cache.get(key)
            if valid is None:
                return None
            if valid.until <= time.time():
                del self._cache[key]
                return None
            self._cache.move_to_end(key)
            return valid

    def _remember(self, key: str, valid: _Valid) -> None:
        if self.cfg.cache_ttl <= 0:
            return
        with self._lock:
            self._cache[key] = valid
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _validate(self, token: str) -> _Valid:
        try:
            resp = self.session.get(f"{self.base}/auth/tokens?nocatalog",
                                    headers={"X-Subject-Token": token},
                                    authenticated=True, raise_exc=False)
        except ks_exceptions.ClientException as exc:
            raise ServiceUnavailable(f"Keystone at {self.base} unreachable: {exc}") from exc
        if resp.status_code in (401, 404):
            raise Unauthorized(INVALID)
        if resp.status_code != 200:
            LOG.error("Keystone answered %s validating a token: %s", resp.status_code,
                      resp.text[:200])
            raise ServiceUnavailable(f"Keystone answered {resp.status_code} validating a "
                                     "token")
        body = resp.json().get("token", {})
        expires = _expiry(body.get("expires_at"))
        now = time.time()
        if expires is not None and expires <= now:
            raise Unauthorized("The token has expired.")
        until = now + self.cfg.cache_ttl
        if expires is not None:
            until = min(until, expires)
        user = body.get("user") or {}
        project = body.get("project") or {}
        roles = tuple(str(r["name"]) for r in body.get("roles") or [] if "name" in r)
        if not user.get("id"):
            raise Unauthorized(INVALID)
        return _Valid(str(user["id"]), project.get("id"), roles, until)


class ServiceAuth(httpx.Auth):
    """httpx auth sending the service user's Keystone token; renewed after a 401."""

    def __init__(self, validator: KeystoneValidator) -> None:
        self.validator = validator

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response,
                                                             None]:
        request.headers["X-Auth-Token"] = self.validator.service_token()
        response = yield request
        if response.status_code == 401:
            self.validator.invalidate_service_token()
            request.headers["X-Auth-Token"] = self.validator.service_token()
            yield request
