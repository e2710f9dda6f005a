"""A tiny data-driven runner: each step is a request and the response it must get.

Paths, bodies and expectations may name fresh uuids as ``{rp}``, ``{child}``...; an
expected body matches when every key it gives matches (scalars exactly, lists
item by item, dicts key by key), so steps state only what they are about.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

ABSENT = object()


@dataclass
class Step:
    method: str
    path: str
    status: int
    json: Any = None
    version: str | None = "latest"
    token: str | None = "admin:admin"
    params: dict[str, str] | list[tuple[str, str]] | None = None
    expect: Any = None
    headers: dict[str, Any] = field(default_factory=dict)
    code: str | None = None
    # Extra request headers (``X-Roles`` for noauth: a service's role).
    send_headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method} {self.path} @{self.version}"


def run(client: httpx.Client, steps: list[Step], known: dict[str, str] | None = None) -> None:
    """Send each step and check its answer; ``known`` names are used as given
    (``{base}`` is the client's base URL)."""
    names: dict[str, str] = _Names({"base": str(client.base_url).rstrip("/"), **(known or {})})
    for number, step in enumerate(steps):
        response = _send(client, step, names)
        where = f"step {number} ({step}): {response.status_code} {response.text[:400]}"
        assert response.status_code == step.status, where
        for header, wanted in step.headers.items():
            got = response.headers.get(header, ABSENT)
            if wanted is ABSENT:
                assert got is ABSENT, f"{where}: header {header} present"
            else:
                assert got == _fill(wanted, names), f"{where}: header {header}={got!r}"
        if step.expect is not None:
            _match(_fill(step.expect, names), response.json(), where)
        if step.code is not None:
            assert response.json()["errors"][0]["code"] == step.code, where


class _Names(dict[str, str]):
    """Fresh values on first use: ``*suffix`` names get trait-safe hex, others uuids."""

    def __missing__(self, key: str) -> str:
        value = uuid.uuid4().hex.upper() if key.endswith("suffix") else str(uuid.uuid4())
        self[key] = value
        return value


def _send(client: httpx.Client, step: Step, names: dict[str, str]) -> httpx.Response:
    headers: dict[str, str] = dict(step.send_headers)
    if step.version is not None:
        headers["OpenStack-API-Version"] = f"placement {step.version}"
    if step.token is not None:
        headers["X-Auth-Token"] = step.token
    content = None
    if step.json is not None:
        content = json.dumps(_strip(_fill(step.json, names)))
        headers["Content-Type"] = "application/json"
    params = _fill(step.params, names) if step.params is not None else None
    request = client.build_request(
        step.method, _fill(step.path, names), content=content, headers=headers, params=params
    )
    # The fixture's default headers are replaced, not merged, by the step's.
    for key in ("X-Auth-Token", "OpenStack-API-Version"):
        if key not in headers:
            request.headers.pop(key, None)
    return client.send(request)


def _strip(value: Any) -> Any:
    """Request bodies leave out keys whose value is ABSENT."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if v is not ABSENT}
    return value


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _format(value, names)
    if isinstance(value, dict):
        return {_fill(k, names): _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, tuple):
        return tuple(_fill(v, names) for v in value)
    return value


def _format(text: str, names: dict[str, str]) -> str:
    out, rest = "", text
    while "{" in rest and "}" in rest.split("{", 1)[1]:
        before, after = rest.split("{", 1)
        key, rest = after.split("}", 1)
        out += before + (names[key] if key.isidentifier() else "{" + key + "}")
    return out + rest


def _match(wanted: Any, got: Any, where: str, path: str = "$") -> None:
    if isinstance(wanted, dict):
        assert isinstance(got, dict), f"{where}: {path} is not an object: {got!r}"
        for key, value in wanted.items():
            if value is ABSENT:
                assert key not in got, f"{where}: {path}.{key} should be absent"
                continue
            assert key in got, f"{where}: {path}.{key} missing in {got!r}"
            _match(value, got[key], where, f"{path}.{key}")
    elif isinstance(wanted, list):
        assert isinstance(got, list) and len(got) == len(wanted), (
            f"{where}: {path} is {got!r}, expected {wanted!r}")
        for index, (w, g) in enumerate(zip(wanted, got, strict=True)):
            _match(w, g, where, f"{path}[{index}]")
    else:
        assert wanted == got, f"{where}: {path} is {got!r}, expected {wanted!r}"
