"""Fixtures for the network API tests: one cloud per backend, clients per project/role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from cli.embedded import EmbeddedCloud
from common.db import create_engine, session_factory
from conductor.rpc.client import ConductorClient
from tests.cloud import CloudClient
from tests.conftest import BACKENDS, cloud_settings, running_cloud
from tests.functional.compute.helpers import public_image


class Net:
    """An HTTP client of /networking/v2.0 as one caller (noauth ``user:project``)."""

    def __init__(self, cloud: EmbeddedCloud, token: str, roles: str | None = None) -> None:
        headers = {"X-Auth-Token": token}
        if roles is not None:
            headers["X-Roles"] = roles
        self.project = token.partition(":")[2]
        self.http = httpx.Client(base_url=f"{cloud.base_url}/networking", headers=headers,
                                 timeout=60)

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(f"/v2.0{path}", **kw)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(f"/v2.0{path}", json=body)

    def put(self, path: str, body: Any) -> httpx.Response:
        return self.http.put(f"/v2.0{path}", json=body)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(f"/v2.0{path}")

    def made(self, collection: str, singular: str, **attrs: Any) -> dict[str, Any]:
        resp = self.post(f"/{collection}", {singular: attrs})
        assert resp.status_code == 201, resp.text
        item: dict[str, Any] = resp.json()[singular]
        return item

    def network(self, **attrs: Any) -> dict[str, Any]:
        return self.made("networks", "network", **{"name": "n", **attrs})

    def subnet(self, network_id: str, cidr: str, **attrs: Any) -> dict[str, Any]:
        version = 6 if ":" in cidr else 4
        return self.made("subnets", "subnet", network_id=network_id, cidr=cidr,
                         ip_version=version, **attrs)

    def port(self, network_id: str, **attrs: Any) -> dict[str, Any]:
        return self.made("ports", "port", network_id=network_id, **attrs)


def neutron_error(resp: httpx.Response, status: int, kind: str) -> str:
    """The message of a NeutronError answer, after checking its status and type."""
    assert resp.status_code == status, resp.text
    error = resp.json()["NeutronError"]
    assert error["type"] == kind, error
    assert error["detail"] == ""
    return str(error["message"])


@pytest.fixture(scope="package", params=BACKENDS)
def net_cloud(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    """One cloud for the package's tests (per backend); tests use their own projects."""
    settings = cloud_settings(tmp_path_factory.mktemp("network"), str(request.param))
    with running_cloud(settings) as running:
        yield running


@pytest.fixture
def project() -> str:
    """A project of the test's own."""
    return f"p-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def member(net_cloud: EmbeddedCloud, project: str) -> Iterator[Net]:
    client = Net(net_cloud, f"alice:{project}")
    yield client
    client.close()


@pytest.fixture
def other(net_cloud: EmbeddedCloud) -> Iterator[Net]:
    client = Net(net_cloud, f"bob:o-{uuid.uuid4().hex[:10]}")
    yield client
    client.close()


@pytest.fixture
def reader(net_cloud: EmbeddedCloud, project: str) -> Iterator[Net]:
    client = Net(net_cloud, f"rita:{project}", roles="reader")
    yield client
    client.close()


@pytest.fixture
def admin(net_cloud: EmbeddedCloud) -> Iterator[Net]:
    client = Net(net_cloud, "admin:admin")
    yield client
    client.close()


@pytest.fixture
def db(net_cloud: EmbeddedCloud) -> Iterator[sessionmaker[Session]]:
    """Sessions on the cloud's compute database (for the domain functions)."""
    engine = create_engine(net_cloud.settings.compute_db_url, pool_size=2, max_pool=12)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def compute_version() -> str:
    """The microversion ``compute`` asks for; a module that needs a later one overrides
    this fixture."""
    return "2.37"


@pytest.fixture
def compute(net_cloud: EmbeddedCloud, member: Net, compute_version: str
            ) -> Iterator[CloudClient]:
    """The compute API as ``member``'s project."""
    client = CloudClient(net_cloud.base_url, token=f"alice:{member.project}",
                         version=compute_version)
    yield client
    client.close()


@pytest.fixture(scope="module")
def boot_refs(net_cloud: EmbeddedCloud) -> tuple[str, str]:
    """A public flavor and image to boot servers from (made once per test module)."""
    admin = CloudClient(net_cloud.base_url)
    try:
        name = f"net-{uuid.uuid4().hex[:6]}"
        return admin.create_flavor(name), public_image(admin, name)
    finally:
        admin.close()


@pytest.fixture
def conductor(net_cloud: EmbeddedCloud) -> ConductorClient:
    """The conductor's RPC client, over the cloud's messaging."""
    assert net_cloud._messaging is not None
    return ConductorClient(net_cloud._messaging)


# A compute cloud whose ports live in ``net_cloud``'s network API ([network] backend =
# neutron): the "Neutron" of test_neutron_backend.py and test_neutron_proxies.py.


@pytest.fixture(scope="module")
def nova(net_cloud: EmbeddedCloud, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[EmbeddedCloud]:
    """A compute cloud (one per module) whose network is ``net_cloud``'s network API."""
    backend = ("postgresql-rabbit" if net_cloud.settings.compute_db_url.startswith("postgres")
               else "sqlite-memory")
    settings = cloud_settings(Path(tmp_path_factory.mktemp("nova-neutron")), backend)
    settings.network = settings.network.model_copy(update={
        "backend": "neutron", "neutron_url": f"{net_cloud.base_url}/networking"})
    with running_cloud(settings) as running:
        yield running


@pytest.fixture(scope="module")
def nova_version() -> str:
    """The compute API microversion ``nova_admin`` asks for (a module may override it)."""
    return "2.37"


@pytest.fixture(scope="module")
def nova_admin(nova: EmbeddedCloud, nova_version: str) -> Iterator[CloudClient]:
    client = CloudClient(nova.base_url, version=nova_version)
    yield client
    client.close()
