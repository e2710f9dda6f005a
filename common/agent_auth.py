"""How a compute agent authenticates to placement and the image API.

Agents run on hypervisor hosts, the machines most exposed to guests, so they never hold
the token-signing key: each authenticates as a service user of its own, bound to its
hosts (``kilonova agent credential``), and gets ordinary expiring tokens from the
identity API (the builtin one or a Keystone), renewed before they expire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from datetime import datetime

import httpx

from common.auth import ClientAuth, service_auth
from common.errors import ConfigError, ServiceUnavailable, Unauthorized
from common.settings import Settings

# Renew a token this long before it expires, so no request carries a stale one.
RENEW_MARGIN = 60.0


def identity_url(settings: Settings) -> str:
    """``[agent_auth] auth_url``, else the identity API beside the compute API."""
    if settings.agent_auth.auth_url:
        return settings.agent_auth.auth_url.rstrip("/")
    host = "127.0.0.1" if settings.api.host in ("", "0.0.0.0") else settings.api.host
    return f"http://{host}:{settings.api.port}/identity"


class PasswordTokenAuth(httpx.Auth):
    """Sends a token got with a user name and password; renews it before it expires
    and once more when a service answers 401 (the token was revoked)."""

    def __init__(self, auth_url: str, username: str, password: str, project: str,
                 timeout: float = 30.0) -> None:
        self._url = f"{auth_url.rstrip('/')}/v3/auth/tokens"
        self._body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": username, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        self._timeout = timeout
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def token(self, fresh: bool = False) -> str:
        """A valid token. Raises Unauthorized (bad credential), ServiceUnavailable."""
        with self._lock:
            if fresh or self._token is None or time.time() >= self._renew_at:
                self._token, self._renew_at = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float]:
        try:
            resp = httpx.post(self._url, json=self._body, timeout=self._timeout,
                              params={"nocatalog": "1"})
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"identity at {self._url} unreachable: {exc}") from exc
        if resp.status_code in (401, 403):
            raise Unauthorized(f"identity refused the agent's credential: {resp.text[:200]}")
        if resp.status_code != 201:
            raise ServiceUnavailable(f"identity answered {resp.status_code}")
        expires = resp.json().get("token", {}).get("expires_at")
        lifetime = 3600.0
        if isinstance(expires, str):
            at = datetime.fromisoformat(expires.replace("Z", "+00:00"))
            lifetime = at.timestamp() - time.time()
        renew_at = time.time() + max(lifetime - RENEW_MARGIN, lifetime / 2)
        return resp.headers["x-subject-token"], renew_at

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response,
                                                              None]:
        request.headers["X-Auth-Token"] = self.token()
        response = yield request
        if response.status_code == 401:
            request.headers["X-Auth-Token"] = self.token(fresh=True)
            yield request


def agent_client_auth(settings: Settings) -> ClientAuth:
    """``token=`` and ``auth=`` for an agent's HTTP clients. Raises ConfigError."""
    strategy = settings.auth.strategy
    if strategy == "noauth":
        return {"token": "admin:admin", "auth": None}
    if strategy == "keystone":
        return {"token": "", "auth": service_auth(settings)}
    cfg = settings.agent_auth
    if not cfg.username or not cfg.password:
        raise ConfigError("a compute agent needs [agent_auth] username and password with "
                          "builtin auth: create them with `kilonova agent credential HOST`")
    return {"token": "", "auth": PasswordTokenAuth(identity_url(settings), cfg.username,
                                                   cfg.password, cfg.project_name)}
