"""Two projects and an admin: who sees and may change what."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cli.embedded import EmbeddedCloud
from tests.cloud import CloudClient
from tests.functional.compute.conftest import client_for
from tests.functional.compute.helpers import ensure_flavor, public_image


@pytest.fixture(scope="module")
def ann(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "ann:iso-a")
    yield c
    c.close()


@pytest.fixture(scope="module")
def ben(shared_cloud: EmbeddedCloud) -> Iterator[CloudClient]:
    c = client_for(shared_cloud, "ben:iso-b")
    yield c
    c.close()


@pytest.fixture(scope="module")
def owned(ann: CloudClient, admin: CloudClient) -> dict[str, str]:
    """Resources project A (ann) owns."""
    flavor, image = ensure_flavor(admin, "iso.tiny", ram=64), public_image(admin, "iso-img")
    server = ann.boot(flavor, image, name="ann-vm")
    group = ann.compute("POST", "/os-server-groups", json={"server_group": {
        "name": "ann-group", "policy": "affinity"}}).json()["server_group"]["id"]
    kp = ann.compute("POST", "/os-keypairs", json={"keypair": {"name": "ann-key"}})
    assert kp.status_code == 201
    return {"server": server, "group": group}


# (description, method, path template, body, status for ann (owner), ben, admin)
MATRIX: list[tuple[str, str, str, Any, int, int, int]] = [
    ("show server", "GET", "/servers/{server}", None, 200, 404, 200),
    ("server metadata", "GET", "/servers/{server}/metadata", None, 200, 404, 200),
    ("server tags", "GET", "/servers/{server}/tags", None, 200, 404, 200),
    ("server actions", "GET", "/servers/{server}/os-instance-actions", None, 200, 404, 200),
    ("rename server", "PUT", "/servers/{server}", {"server": {"name": "ann-vm"}}, 200, 404,
     200),
    ("set metadata", "POST", "/servers/{server}/metadata", {"metadata": {"a": "b"}}, 200, 404,
     200),
    ("delete server", "DELETE", "/servers/{server}", None, None, 404, None),
    ("show group", "GET", "/os-server-groups/{group}", None, 200, 404, 200),
    ("delete group", "DELETE", "/os-server-groups/{group}", None, None, 404, None),
    ("show key pair", "GET", "/os-keypairs/ann-key", None, 200, 404, 404),
    ("project quota", "GET", "/os-quota-sets/iso-a", None, 200, 403, 200),
    ("quota detail", "GET", "/os-quota-sets/iso-a/detail", None, 200, 403, 200),
    ("update quota", "PUT", "/os-quota-sets/iso-a", {"quota_set": {"instances": 10}}, 403,
     403, 200),
    ("zone detail", "GET", "/os-availability-zone/detail", None, 403, 403, 200),
    ("create flavor", "POST", "/flavors", {"flavor": {"name": "iso-x", "ram": 1, "vcpus": 1,
                                                      "disk": 0, "id": "iso-x"}}, 403, 403,
     None),
]


@pytest.mark.parametrize(("what", "method", "path", "body", "as_ann", "as_ben",
                          "as_admin"), MATRIX, ids=[m[0] for m in MATRIX])
def test_isolation_matrix(shared_cloud: EmbeddedCloud, owned: dict[str, str],
                          ann: CloudClient, ben: CloudClient, admin: CloudClient, what: str,
                          method: str, path: str, body: Any, as_ann: int | None,
                          as_ben: int, as_admin: int | None) -> None:
    url = path.format(**owned)
    for who, expected in ((ben, as_ben), (ann, as_ann), (admin, as_admin)):
        if expected is None:
            continue  # would change what the other rows need
        resp = who.compute(method, url, json=body) if body is not None else \
            who.compute(method, url)
        assert resp.status_code == expected, (what, resp.text)


def test_lists_show_only_the_projects_own(owned: dict[str, str], ann: CloudClient,
                                          ben: CloudClient, admin: CloudClient) -> None:
    assert [s["id"] for s in ann.compute("GET", "/servers").json()["servers"]] == [
        owned["server"]]
    assert ben.compute("GET", "/servers").json()["servers"] == []
    assert ben.compute("GET", "/servers?all_tenants=1").json()["servers"] == []
    everyone = admin.compute("GET", "/servers/detail?all_tenants=1").json()["servers"]
    assert owned["server"] in [s["id"] for s in everyone]
    assert ben.compute("GET", "/os-server-groups").json()["server_groups"] == []
    assert ben.compute("GET", "/os-server-groups?all_projects=1").json()[
        "server_groups"] == []
    groups = admin.compute("GET", "/os-server-groups?all_projects=1").json()["server_groups"]
    assert owned["group"] in [g["id"] for g in groups]
    assert ben.compute("GET", "/os-keypairs").json()["keypairs"] == []
