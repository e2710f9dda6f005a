"""Fixtures for the compute API tests: a cloud with builtin auth, per-project clients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.conftest import BACKENDS, cloud_settings, running_cloud

ADMIN_PASSWORD = "functional-admin"


@pytest.fixture(scope="package", params=BACKENDS)
def shared_cloud(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    """One noauth cloud for all the compute API tests (per backend).

    Starting and stopping a cloud costs seconds, so this package shares one: tests use
    their own project names (tokens ``user:project``) and clean up what they create.
    """
    settings = cloud_settings(tmp_path_factory.mktemp("compute"), str(request.param))
    with running_cloud(settings) as running:
        yield running


@pytest.fixture(scope="package", params=BACKENDS)
def identity_cloud(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    """One cloud with ``[auth] strategy = builtin`` for a module of tests."""
    settings = cloud_settings(tmp_path_factory.mktemp("idcloud"), str(request.param))
    settings.auth = settings.auth.model_copy(update={"strategy": "builtin"})
    settings.identity = settings.identity.model_copy(update={"admin_password": ADMIN_PASSWORD})
    with running_cloud(settings) as running:
        yield running


def password_token(base_url: str, user: str, password: str, project: str | None
                   ) -> httpx.Response:
    auth: dict[str, object] = {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}}}
    if project is not None:
        auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
    return httpx.post(f"{base_url}/identity/v3/auth/tokens", json={"auth": auth}, timeout=30)


def client_for(cloud: EmbeddedCloud, token: str, version: str | None = "2.73") -> CloudClient:
    return CloudClient(cloud.base_url, token=token, version=version)


@pytest.fixture(scope="module")
def alice(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "alice:proj-a")
    yield c
    c.close()


@pytest.fixture(scope="module")
def bob(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "bob:proj-b")
    yield c
    c.close()


@pytest.fixture(scope="module")
def admin(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "admin:admin")
    yield c
    c.close()
