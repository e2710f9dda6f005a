"""Bad input gets the upstream error body and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from cli.embedded import EmbeddedCloud
from common.db import create_engine
from tests.cloud import CloudClient
from tests.conftest import BACKENDS, cloud_settings, running_cloud

GOOD_IMAGE = "{image}"
GOOD_FLAVOR = "small"


def _server(**fields: Any) -> dict[str, Any]:
    body = {"name": "x", "flavorRef": GOOD_FLAVOR, "imageRef": GOOD_IMAGE, "networks": "none"}
    body.update(fields)
    return {"server": {k: v for k, v in body.items() if v is not ...}}


# (description, method, path, body or raw bytes, expected status, error key, text in message)
CASES: list[tuple[str, str, str, Any, int, str, str]] = [
    ("unknown flavor", "POST", "/servers", _server(flavorRef="nope"), 400, "badRequest",
     "Invalid flavorRef"),
    ("unknown image", "POST", "/servers",
     _server(imageRef="6b0cbd68-5bd5-4cfa-9c8c-6c5a5c1b8f8e"), 400, "badRequest",
     "Can not find requested image"),
    ("image not a uuid", "POST", "/servers", _server(imageRef="cirros"), 400, "badRequest",
     "imageRef"),
    ("malformed json", "POST", "/servers", b'{"server": {', 400, "badRequest", "Malformed"),
    ("empty body", "POST", "/servers", b"", 400, "badRequest", ""),
    ("body not an object", "POST", "/servers", [1, 2], 400, "badRequest", "server"),
    ("missing server key", "POST", "/servers", {"srv": {}}, 400, "badRequest", "server"),
    ("unknown field", "POST", "/servers", _server(colour="blue"), 400, "badRequest",
     "'colour' was unexpected"),
    ("unknown top-level field", "POST", "/servers", {**_server(), "extra": 1}, 400,
     "badRequest", "'extra' was unexpected"),
    ("missing name", "POST", "/servers", _server(name=...), 400, "badRequest", "name"),
    ("name wrong type", "POST", "/servers", _server(name=12), 400, "badRequest", "name"),
    ("empty name", "POST", "/servers", _server(name=""), 400, "badRequest", "name"),
    ("name with edge spaces", "POST", "/servers", _server(name=" x "), 400, "badRequest",
     "whitespace"),
    ("missing flavorRef", "POST", "/servers", _server(flavorRef=...), 400, "badRequest",
     "flavorRef"),
    ("min_count zero", "POST", "/servers", _server(min_count=0), 400, "badRequest",
     "min_count"),
    ("min over max", "POST", "/servers", _server(min_count=3, max_count=2), 400,
     "badRequest", "min_count"),
    ("metadata not strings", "POST", "/servers", _server(metadata={"a": 1}), 400,
     "badRequest", "metadata"),
    ("user_data not base64", "POST", "/servers", _server(user_data="%%%"), 400,
     "badRequest", "user_data"),
    ("huge user_data", "POST", "/servers", _server(user_data="QUFB" * 20000), 400,
     "badRequest", "user_data"),
    ("networks missing at 2.37+", "POST", "/servers", _server(networks=...), 400,
     "badRequest", "networks"),
    ("networks bad string", "POST", "/servers", _server(networks="some"), 400, "badRequest",
     "networks"),
    ("server not found", "GET", "/servers/6b0cbd68-5bd5-4cfa-9c8c-6c5a5c1b8f8e", None, 404,
     "itemNotFound", "could not be found"),
    ("server id not a uuid", "GET", "/servers/abc", None, 404, "itemNotFound", ""),
    ("delete unknown server", "DELETE", "/servers/6b0cbd68-5bd5-4cfa-9c8c-6c5a5c1b8f8e",
     None, 404, "itemNotFound", ""),
    ("bad limit", "GET", "/servers?limit=abc", None, 400, "badRequest", "limit"),
    ("negative limit", "GET", "/servers?limit=-1", None, 400, "badRequest", "limit"),
    ("bad marker", "GET", "/servers?marker=nope", None, 400, "badRequest", "marker"),
    ("bad sort key", "GET", "/servers/detail?sort_key=password", None, 400, "badRequest",
     "sort_key"),
    ("flavor not found", "GET", "/flavors/nope", None, 404, "itemNotFound", "nope"),
    ("flavor missing ram", "POST", "/flavors", {"flavor": {"name": "f", "vcpus": 1,
                                                           "disk": 1}}, 400, "badRequest",
     "ram"),
    ("flavor ram as text", "POST", "/flavors", {"flavor": {"name": "f", "ram": "lots",
                                                           "vcpus": 1, "disk": 1}}, 400,
     "badRequest", "ram"),
    ("flavor unknown field", "POST", "/flavors", {"flavor": {"name": "f", "ram": 1,
                                                             "vcpus": 1, "disk": 1,
                                                             "gpu": 1}}, 400, "badRequest",
     "'gpu' was unexpected"),
    ("flavor duplicate", "POST", "/flavors", {"flavor": {"name": "small", "ram": 1,
                                                         "vcpus": 1, "disk": 1}}, 409,
     "conflictingRequest", "already exists"),
    ("unknown route", "GET", "/nowhere", None, 404, "itemNotFound", ""),
    ("wrong method", "PATCH", "/servers", None, 405, "badMethod", ""),
]


@pytest.fixture(scope="module")
def image(shared_client: CloudClient) -> str:
    shared_client.create_flavor(GOOD_FLAVOR)
    return shared_client.create_image()


def _count_instances(cloud: EmbeddedCloud) -> int:
    import sqlalchemy as sa

    from common.compute_db.models import Instance
    from common.db import create_engine

    engine = create_engine(cloud.settings.compute_db_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(Instance)) or 0)
    finally:
        engine.dispose()


@pytest.mark.parametrize(("what", "method", "path", "body", "status", "key", "text"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_upstream_format_and_writes_nothing(
    shared_cloud: EmbeddedCloud, shared_client: CloudClient, image: str, what: str,
    method: str, path: str, body: Any, status: int, key: str, text: str,
) -> None:
    before = _count_instances(shared_cloud)
    if isinstance(body, bytes):
        resp = shared_client.compute(method, path, content=body,
                                     headers={"Content-Type": "application/json"})
    elif body is None:
        resp = shared_client.compute(method, path)
    else:
        import json

        raw = json.dumps(body).replace(GOOD_IMAGE, image)
        resp = shared_client.compute(method, path, content=raw,
                                     headers={"Content-Type": "application/json"})

    assert resp.status_code == status, resp.text
    error = resp.json()[key]
    assert error["code"] == status
    assert text in error["message"]
    assert _count_instances(shared_cloud) == before


# --- every API: the edge (body size, nesting) and the bounds of each field ----------

ADMIN_PASSWORD = "bad-input-admin"
UPLOAD_CAP = 4096
PLACEMENT_BODY_CAP = 65536
DEEP = "[" * 5000 + "]" * 5000
# Over the default 112 KiB of the compute, image and identity APIs.
HUGE_NAME = "x" * 200_000
BIG = 2**63
UNKNOWN = "6b0cbd68-5bd5-4cfa-9c8c-6c5a5c1b8f8e"


def _keypair(**fields: Any) -> dict[str, Any]:
    return {"keypair": {"name": "kp", **fields}}


# (description, api, method, path, body (str: raw JSON), status, text in the message)
EDGE_CASES: list[tuple[str, str, str, str, Any, int, str]] = [
    ("compute nested too deep", "compute", "POST", "/servers", DEEP, 400, "nested deeper"),
    ("compute action nested too deep", "compute", "POST", "/servers/{server}/action",
     '{"reboot": ' + DEEP + "}", 400, "nested deeper"),
    ("compute body too large", "compute", "POST", "/servers", _server(name=HUGE_NAME), 413,
     "too large"),
    ("quota of 2**63", "compute", "PUT", "/os-quota-sets/p-bad",
     {"quota_set": {"instances": BIG}}, 400, "greater than the maximum of 2147483647"),
    ("quota of 2**63 as text", "compute", "PUT", "/os-quota-sets/p-bad",
     {"quota_set": {"cores": str(BIG)}}, 400, "greater than the maximum of 2147483647"),
    ("quota of 30 digits", "compute", "PUT", "/os-quota-sets/p-bad",
     {"quota_set": {"ram": "9" * 30}}, 400, "is too long"),
    ("quota below -1", "compute", "PUT", "/os-quota-sets/p-bad",
     {"quota_set": {"ram": -2}}, 400, "less than the minimum of -1"),
    ("quota as a boolean", "compute", "PUT", "/os-quota-sets/p-bad",
     {"quota_set": {"ram": True}}, 400, "is not of type"),
    ("quota project id too long", "compute", "PUT", "/os-quota-sets/" + "p" * 256,
     {"quota_set": {"ram": 1}}, 400, "is too long"),
    ("server rename to null", "compute", "PUT", "/servers/{server}",
     {"server": {"name": None}}, 400, "None is not of type 'string'"),
    ("server rename too long", "compute", "PUT", "/servers/{server}",
     {"server": {"name": "n" * 256}}, 400, "name"),
    ("server access address not ipv4", "compute", "PUT", "/servers/{server}",
     {"server": {"accessIPv4": "' OR 1=1 --"}}, 400, "is not a 'ipv4'"),
    ("server access address not ipv6", "compute", "POST", "/servers",
     _server(accessIPv6="1.2.3.4"), 400, "is not a 'ipv6'"),
    ("config drive text too long", "compute", "POST", "/servers",
     _server(config_drive="c" * 256), 400, "config_drive"),
    ("security group name too long", "compute", "POST", "/servers",
     _server(security_groups=[{"name": "s" * 256}]), 400, "security_groups"),
    ("key pair public key is sql", "compute", "POST", "/os-keypairs",
     _keypair(public_key="' OR 1=1 --"), 400, "Keypair data is invalid"),
    ("key pair public key not a key", "compute", "POST", "/os-keypairs",
     _keypair(public_key="ssh-rsa !!!"), 400, "Keypair data is invalid"),
    ("key pair certificate garbage", "compute", "POST", "/os-keypairs",
     _keypair(public_key="-----BEGIN CERTIFICATE-----", type="x509"), 400,
     "Keypair data is invalid"),
    ("key pair user id too long", "compute", "POST", "/os-keypairs",
     _keypair(user_id="u" * 256), 400, "is too long"),
    ("placement nested too deep", "placement", "POST", "/resource_providers", DEEP, 400,
     "nested deeper"),
    ("placement body too large", "placement", "POST", "/resource_providers",
     {"name": "x" * PLACEMENT_BODY_CAP}, 413, "too large"),
    ("placement generation of 2**63", "placement", "PUT",
     "/resource_providers/{provider}/inventories",
     {"resource_provider_generation": BIG, "inventories": {}}, 400, "generation"),
    ("placement total of 2**63", "placement", "PUT",
     "/resource_providers/{provider}/inventories",
     {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": BIG}}}, 400,
     "total"),
    ("placement limit not ascii digits", "placement", "GET",
     "/allocation_candidates?resources=VCPU:1&limit=%C2%B2", None, 400, "limit"),
    ("placement amount not ascii digits", "placement", "GET",
     "/allocation_candidates?resources=VCPU:%C2%B2", None, 400,
     "expected positive integer amount"),
    ("image nested too deep", "image", "POST", "/v2/images", DEEP, 400, "nested deeper"),
    ("image body too large", "image", "POST", "/v2/images", {"name": HUGE_NAME}, 413,
     "too large"),
    ("image name of 10 MB", "image", "POST", "/v2/images", {"name": "x" * 10_000_000}, 413,
     "too large"),
    ("image name too long", "image", "POST", "/v2/images", {"name": "i" * 256}, 400,
     "is too long"),
    ("image min_ram of 2**63", "image", "POST", "/v2/images", {"min_ram": BIG}, 400,
     "greater than the maximum of 2147483647"),
    ("image min_disk of 2**31", "image", "POST", "/v2/images", {"min_disk": 2**31}, 400,
     "greater than the maximum of 2147483647"),
    ("image min_ram negative", "image", "POST", "/v2/images", {"min_ram": -1}, 400,
     "less than the minimum of 0"),
    ("image id not a uuid", "image", "POST", "/v2/images", {"id": "' OR 1=1 --"}, 400,
     "does not match"),
    ("image protected not a boolean", "image", "POST", "/v2/images", {"protected": "yes"},
     400, "is not of type 'boolean'"),
    ("image visibility null", "image", "POST", "/v2/images", {"visibility": None}, 400,
     "is not one of"),
    ("image disk format unknown", "image", "POST", "/v2/images", {"disk_format": "exe"}, 400,
     "is not one of"),
    ("image property not text", "image", "POST", "/v2/images", {"colour": 5}, 400,
     "is not of type 'string'"),
    ("image tag too long", "image", "POST", "/v2/images", {"tags": ["t" * 256]}, 400,
     "is too long"),
    ("image property name too long", "image", "POST", "/v2/images", {"p" * 256: "v"}, 400,
     "255"),
    ("identity nested too deep, no token", "identity", "POST", "/v3/auth/tokens", DEEP, 400,
     "nested deeper"),
    ("identity body too large, no token", "identity", "POST", "/v3/auth/tokens",
     {"auth": {"identity": {"methods": [HUGE_NAME]}}}, 413, "too large"),
    ("identity user domain a number, no token", "identity", "POST", "/v3/auth/tokens",
     {"auth": {"identity": {"methods": ["password"], "password": {"user": {
         "name": "admin", "domain": BIG, "password": "p"}}}}}, 400,
     "is not of type 'object'"),
    ("identity scope a number, no token", "identity", "POST", "/v3/auth/tokens",
     {"auth": {"identity": {"methods": ["password"], "password": {"user": {
         "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
         "scope": BIG}}, 400, "is not of type 'object'"),
    ("identity methods not names, no token", "identity", "POST", "/v3/auth/tokens",
     {"auth": {"identity": {"methods": [{}]}}}, 400, "is not of type 'string'"),
    ("identity user name too long", "identity", "POST", "/v3/users",
     {"user": {"name": "u" * 256}}, 400, "is too long"),
    ("identity user email not text", "identity", "POST", "/v3/users",
     {"user": {"name": "mail", "email": 12}}, 400, "email"),
    ("identity project name too long", "identity", "POST", "/v3/projects",
     {"project": {"name": "p" * 65}}, 400, "is too long"),
    ("identity project without name", "identity", "POST", "/v3/projects",
     {"project": {"description": "d"}}, 400, "'name' is a required property"),
]


@pytest.fixture(scope="module", params=BACKENDS)
def guarded_cloud(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCloud]:
    """A cloud with every API served (builtin auth) and small caps to reach cheaply."""
    settings = cloud_settings(tmp_path_factory.mktemp("guarded"), str(request.param))
    settings.auth = settings.auth.model_copy(update={"strategy": "builtin"})
    settings.identity = settings.identity.model_copy(update={"admin_password": ADMIN_PASSWORD})
    settings.images = settings.images.model_copy(update={"size_cap": UPLOAD_CAP})
    settings.limits = settings.limits.model_copy(
        update={"placement_max_request_body_size": PLACEMENT_BODY_CAP})
    with running_cloud(settings) as running:
        yield running


@dataclass
class Guarded:
    cloud: EmbeddedCloud
    client: CloudClient
    ids: dict[str, str]


@pytest.fixture(scope="module")
def guarded(guarded_cloud: EmbeddedCloud) -> Iterator[Guarded]:
    resp = httpx.post(f"{guarded_cloud.base_url}/identity/v3/auth/tokens", timeout=30,
                      json={"auth": {"identity": {"methods": ["password"], "password": {
                          "user": {"name": "admin", "domain": {"id": "default"},
                                   "password": ADMIN_PASSWORD}}},
                          "scope": {"project": {"name": "admin",
                                                "domain": {"id": "default"}}}}})
    assert resp.status_code == 201, resp.text
    client = CloudClient(guarded_cloud.base_url, token=resp.headers["X-Subject-Token"])
    client.create_flavor(GOOD_FLAVOR)
    image = client.create_image()
    server = client.boot(GOOD_FLAVOR, image)
    client.wait_status(server, {"ACTIVE"})
    providers = client.placement("GET", "/resource_providers").json()["resource_providers"]
    try:
        yield Guarded(guarded_cloud, client,
                      {"image": image, "server": server, "provider": providers[0]["uuid"]})
    finally:
        client.close()


def _send(g: Guarded, api: str, method: str, path: str, body: Any,
          token: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if api == "placement":
        headers["OpenStack-API-Version"] = "placement 1.39"
    elif api == "compute":
        headers["OpenStack-API-Version"] = "compute 2.47"
    if token is not None:
        headers["X-Auth-Token"] = token
    prefix = {"compute": "/compute/v2.1", "placement": "/placement", "image": "/image",
              "identity": "/identity"}[api]
    raw = body if body is None or isinstance(body, str) else json.dumps(body)
    if raw is not None:
        raw = raw.replace(GOOD_IMAGE, g.ids["image"])
    return g.client.http.request(method, prefix + path.format(**g.ids), content=raw,
                                 headers=headers)


def error_of(api: str, resp: httpx.Response) -> tuple[int, str]:
    """(status in the body, message) of an error answer, in each API's own format."""
    body = resp.json()
    if api == "compute":
        ((_name, fault),) = body.items()
        return int(fault["code"]), str(fault["message"])
    if api == "placement":
        (error,) = body["errors"]
        assert {"status", "title", "detail", "request_id"} <= set(error)
        assert str(error["code"]).startswith("placement.")
        return int(error["status"]), str(error["detail"])
    if api == "image":
        assert set(body) == {"code", "title", "message"}
        return int(body["code"].split()[0]), str(body["message"])
    assert set(body["error"]) == {"code", "title", "message"}
    return int(body["error"]["code"]), str(body["error"]["message"])


COUNTED_COMPUTE = ("instances", "quotas", "quota_locks", "key_pairs", "images",
                   "identity_users", "identity_projects", "flavors")
COUNTED_PLACEMENT = ("resource_providers", "inventories", "allocations")


def _row_counts(cloud: EmbeddedCloud) -> dict[str, int]:
    counts: dict[str, int] = {}
    for url, tables in ((cloud.settings.compute_db_url, COUNTED_COMPUTE),
                        (cloud.settings.placement_db_url, COUNTED_PLACEMENT)):
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                for table in tables:
                    counts[table] = int(conn.scalar(sa.text(
                        f"SELECT count(*) FROM {table}")) or 0)
        finally:
            engine.dispose()
    return counts


@pytest.mark.parametrize(("what", "api", "method", "path", "body", "status", "text"),
                         EDGE_CASES, ids=[c[0] for c in EDGE_CASES])
def test_out_of_bounds_input_is_refused_by_every_api_in_its_format(
    guarded: Guarded, what: str, api: str, method: str, path: str, body: Any, status: int,
    text: str,
) -> None:
    before = _row_counts(guarded.cloud)
    token = None if "no token" in what else guarded.client.http.headers["X-Auth-Token"]
    resp = _send(guarded, api, method, path, body, token)

    assert resp.status_code == status, resp.text
    code, message = error_of(api, resp)
    assert code == status
    assert text in message
    assert len(message) < 1000, "a refused value is not echoed in full"
    assert _row_counts(guarded.cloud) == before


def test_image_upload_over_the_cap_is_refused_and_leaves_the_image_queued(
    guarded: Guarded,
) -> None:
    http = guarded.client.http
    created = http.post("/image/v2/images", json={"name": "big", "disk_format": "raw",
                                                   "container_format": "bare"})
    assert created.status_code == 201, created.text
    image_id = created.json()["id"]
    store = guarded.cloud.settings.data_dir / "images"

    def chunks() -> Iterator[bytes]:
        # Streamed without a length: the cap is enforced on what arrives.
        for _ in range(4):
            yield b"\0" * (UPLOAD_CAP // 2)

    for content in (b"\0" * (UPLOAD_CAP + 1), chunks()):
        resp = http.put(f"/image/v2/images/{image_id}/file", content=content,
                        headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 413, resp.text
        code, message = error_of("image", resp)
        assert code == 413 and "too large" in message
        assert http.get(f"/image/v2/images/{image_id}").json()["status"] == "queued"
        assert not list(store.glob(f"{image_id}*"))

    exact = http.put(f"/image/v2/images/{image_id}/file", content=b"\0" * UPLOAD_CAP,
                     headers={"Content-Type": "application/octet-stream"})
    assert exact.status_code == 204, exact.text
    assert http.get(f"/image/v2/images/{image_id}").json()["size"] == UPLOAD_CAP
    assert http.delete(f"/image/v2/images/{image_id}").status_code == 204


# Integers past what the database compares, where upstream sets no maximum: the answer
# is the one a merely large value gets.
HUGE_QUERIES = [
    ("compute", f"/flavors/detail?minRam={BIG}", "flavors", 0),
    ("compute", f"/flavors?minDisk={BIG * 10}", "flavors", 0),
    ("compute", f"/os-keypairs?limit={BIG}", "keypairs", None),
    ("placement", f"/allocation_candidates?resources=VCPU:1&limit={BIG}",
     "allocation_requests", None),
    ("placement", f"/allocation_candidates?resources=VCPU:{BIG}", "allocation_requests", 0),
    ("placement", f"/resource_providers?resources=VCPU:{BIG}", "resource_providers", 0),
]


@pytest.mark.parametrize(("api", "path", "key", "length"), HUGE_QUERIES,
                         ids=[q[1] for q in HUGE_QUERIES])
def test_huge_integers_in_queries_answer_as_large_ones_do(
    guarded: Guarded, api: str, path: str, key: str, length: int | None,
) -> None:
    resp = _send(guarded, api, "GET", path, None, guarded.client.http.headers["X-Auth-Token"])
    assert resp.status_code == 200, resp.text
    if length is not None:
        assert len(resp.json()[key]) == length
