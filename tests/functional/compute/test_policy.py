"""Policy: reader, member and admin of project A and a member of project B, on every route.

One cloud with builtin identity; the personas get real password tokens. A refused
request is a 403 in each API's error format and changes nothing; an allowed one that
would be destructive is aimed at a missing resource (404) or a bad body (400), which
shows the policy let it through.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.embedded import EmbeddedCloud
from common.policy import RELOAD_CHECK_INTERVAL
from tests.conftest import cloud_settings, running_cloud
from tests.functional.compute.conftest import ADMIN_PASSWORD, password_token

PERSONAS = ("reader", "member", "admin", "other")
MISSING = "00000000-0000-4000-8000-000000000000"


@dataclass
class World:
    cloud: EmbeddedCloud
    tokens: dict[str, str]
    ids: dict[str, str]
    policy_file: Path

    def call(self, who: str | None, method: str, path: str, body: Any = None,
             version: str = "2.73") -> httpx.Response:
        headers = {"OpenStack-API-Version": f"compute {version}"}
        if who is not None:
            headers["X-Auth-Token"] = self.tokens[who]
        if path.startswith("/placement"):
            headers["OpenStack-API-Version"] = "placement 1.39"
        return httpx.request(method, f"{self.cloud.base_url}{path.format(**self.ids)}",
                             json=body, headers=headers, timeout=30)


def _identity(cloud: EmbeddedCloud, admin: str, method: str, path: str,
              body: Any = None) -> httpx.Response:
    return httpx.request(method, f"{cloud.base_url}/identity/v3{path}", json=body,
                         headers={"X-Auth-Token": admin}, timeout=30)


def _persona(cloud: EmbeddedCloud, admin: str, user: str, project_id: str, role: str
             ) -> tuple[str, str]:
    created = _identity(cloud, admin, "POST", "/users",
                        {"user": {"name": user, "password": f"pw-{user}"}})
    assert created.status_code == 201, created.text
    user_id = created.json()["user"]["id"]
    grant = _identity(cloud, admin, "PUT", f"/projects/{project_id}/users/{user_id}/roles/{role}")
    assert grant.status_code == 204, grant.text
    issued = password_token(cloud.base_url, user, f"pw-{user}", None)
    assert issued.status_code == 201, issued.text
    return issued.headers["X-Subject-Token"], user_id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("policy")
    policy_file = data_dir / "policy.yaml"
    policy_file.write_text("{}\n")
    settings = cloud_settings(data_dir, "sqlite-memory")
    settings.auth = settings.auth.model_copy(update={"strategy": "builtin",
                                                     "policy_file": str(policy_file)})
    settings.identity = settings.identity.model_copy(update={"admin_password": ADMIN_PASSWORD})
    with running_cloud(settings) as cloud:
        boot = password_token(cloud.base_url, "admin", ADMIN_PASSWORD, "admin")
        admin = boot.headers["X-Subject-Token"]
        projects = {}
        for name in ("pol-a", "pol-b"):
            made = _identity(cloud, admin, "POST", "/projects", {"project": {"name": name}})
            assert made.status_code == 201, made.text
            projects[name] = made.json()["project"]["id"]
        tokens, ids = {}, {"a": projects["pol-a"], "b": projects["pol-b"], "missing": MISSING}
        for persona, project, role in (("reader", "pol-a", "reader"),
                                       ("member", "pol-a", "member"),
                                       ("admin", "pol-a", "admin"),
                                       ("other", "pol-b", "member")):
            tokens[persona], ids[f"{persona}_user"] = _persona(
                cloud, admin, f"pol-{persona}", projects[project], role)
        w = World(cloud, tokens, ids, policy_file)
        _resources(w)
        yield w


def _resources(w: World) -> None:
    """What project A owns: a server with metadata and a tag, a group, a key, an image."""
    flavor = w.call("admin", "POST", "/compute/v2.1/flavors", {"flavor": {
        "name": "pol.tiny", "ram": 64, "vcpus": 1, "disk": 0, "id": "pol-tiny"}})
    assert flavor.status_code == 200, flavor.text
    image = w.call("member", "POST", "/image/v2/images", {
        "name": "pol-img", "disk_format": "raw", "container_format": "bare"})
    assert image.status_code == 201, image.text
    w.ids["image"] = image.json()["id"]
    upload = httpx.put(f"{w.cloud.base_url}/image/v2/images/{w.ids['image']}/file",
                       content=b"\0" * 512, timeout=30, headers={
                           "X-Auth-Token": w.tokens["member"],
                           "Content-Type": "application/octet-stream"})
    assert upload.status_code == 204, upload.text
    server = w.call("member", "POST", "/compute/v2.1/servers", {"server": {
        "name": "pol-vm", "flavorRef": "pol-tiny", "imageRef": w.ids["image"],
        "networks": "none", "metadata": {"k": "v"}}})
    assert server.status_code == 202, server.text
    w.ids["server"] = server.json()["server"]["id"]
    tag = w.call("member", "PUT", "/compute/v2.1/servers/{server}/tags/t1")
    assert tag.status_code == 201, tag.text
    group = w.call("member", "POST", "/compute/v2.1/os-server-groups", {"server_group": {
        "name": "pol-group", "policy": "affinity"}})
    assert group.status_code == 200, group.text
    w.ids["group"] = group.json()["server_group"]["id"]
    key = w.call("member", "POST", "/compute/v2.1/os-keypairs", {"keypair": {
        "name": "pol-key"}})
    assert key.status_code == 201, key.text
    spec = w.call("admin", "POST", "/compute/v2.1/flavors/pol-tiny/os-extra_specs",
                  {"extra_specs": {"hw:cpu_policy": "shared"}})
    assert spec.status_code == 200, spec.text


C = "/compute/v2.1"
SRV = f"{C}/servers/{{server}}"
GONE = f"{C}/servers/{{missing}}"
BAD_SERVER = {"server": {"name": "x"}}  # no flavorRef: a 400 once the policy allowed it

# (what, method, path, body, statuses of reader, member, admin (all of project A), other
# (member of B)). Allowed-but-destructive calls aim at missing things (404) or carry a
# bad body (400).
COMPUTE: list[tuple[str, str, str, Any, tuple[int, int, int, int]]] = [
    ("list servers", "GET", f"{C}/servers", None, (200, 200, 200, 200)),
    ("list servers detail", "GET", f"{C}/servers/detail", None, (200, 200, 200, 200)),
    ("show server", "GET", SRV, None, (200, 200, 200, 404)),
    ("create server", "POST", f"{C}/servers", BAD_SERVER, (403, 400, 400, 400)),
    ("update server", "PUT", SRV, {"server": {"name": "pol-vm"}}, (403, 200, 200, 404)),
    ("delete server", "DELETE", GONE, None, (403, 404, 404, 404)),
    ("member action", "POST", f"{GONE}/action", {"reboot": {"type": "SOFT"}},
     (403, 404, 404, 404)),
    ("admin action", "POST", f"{GONE}/action", {"migrate": None}, (403, 403, 404, 403)),
    ("list metadata", "GET", f"{SRV}/metadata", None, (200, 200, 200, 404)),
    ("show metadata item", "GET", f"{SRV}/metadata/k", None, (200, 200, 200, 404)),
    ("add metadata", "POST", f"{SRV}/metadata", {"metadata": {"k": "v"}},
     (403, 200, 200, 404)),
    ("replace metadata", "PUT", f"{SRV}/metadata", {"metadata": {"k": "v"}},
     (403, 200, 200, 404)),
    ("set metadata item", "PUT", f"{SRV}/metadata/k", {"meta": {"k": "v"}},
     (403, 200, 200, 404)),
    ("delete metadata item", "DELETE", f"{SRV}/metadata/nope", None, (403, 404, 404, 404)),
    ("list tags", "GET", f"{SRV}/tags", None, (200, 200, 200, 404)),
    ("check tag", "GET", f"{SRV}/tags/t1", None, (204, 204, 204, 404)),
    ("replace tags", "PUT", f"{SRV}/tags", {"tags": ["t1"]}, (403, 200, 200, 404)),
    ("delete tags", "DELETE", f"{GONE}/tags", None, (403, 404, 404, 404)),
    ("add tag", "PUT", f"{SRV}/tags/t1", None, (403, 204, 204, 404)),
    ("delete tag", "DELETE", f"{SRV}/tags/nope", None, (403, 404, 404, 404)),
    ("list actions", "GET", f"{SRV}/os-instance-actions", None, (200, 200, 200, 404)),
    ("show action", "GET", f"{SRV}/os-instance-actions/req-nope", None,
     (404, 404, 404, 404)),
    ("list flavors", "GET", f"{C}/flavors", None, (200, 200, 200, 200)),
    ("list flavors detail", "GET", f"{C}/flavors/detail", None, (200, 200, 200, 200)),
    ("show flavor", "GET", f"{C}/flavors/pol-tiny", None, (200, 200, 200, 200)),
    ("create flavor", "POST", f"{C}/flavors", {"flavor": {}}, (403, 403, 400, 403)),
    ("update flavor", "PUT", f"{C}/flavors/pol-tiny", {"flavor": {"description": "d"}},
     (403, 403, 200, 403)),
    ("delete flavor", "DELETE", f"{C}/flavors/nope", None, (403, 403, 404, 403)),
    ("flavor access", "GET", f"{C}/flavors/nope/os-flavor-access", None,
     (403, 403, 404, 403)),
    ("grant flavor access", "POST", f"{C}/flavors/nope/action",
     {"addTenantAccess": {"tenant": "x"}}, (403, 403, 404, 403)),
    ("list extra specs", "GET", f"{C}/flavors/pol-tiny/os-extra_specs", None,
     (200, 200, 200, 200)),
    ("show extra spec", "GET", f"{C}/flavors/pol-tiny/os-extra_specs/hw:cpu_policy", None,
     (200, 200, 200, 200)),
    ("add extra specs", "POST", f"{C}/flavors/pol-tiny/os-extra_specs",
     {"extra_specs": {"hw:cpu_policy": "shared"}}, (403, 403, 200, 403)),
    ("set extra spec", "PUT", f"{C}/flavors/pol-tiny/os-extra_specs/hw:cpu_policy",
     {"hw:cpu_policy": "shared"}, (403, 403, 200, 403)),
    ("delete extra spec", "DELETE", f"{C}/flavors/pol-tiny/os-extra_specs/nope", None,
     (403, 403, 404, 403)),
    ("list key pairs", "GET", f"{C}/os-keypairs", None, (200, 200, 200, 200)),
    ("create key pair", "POST", f"{C}/os-keypairs", {"keypair": {}}, (400, 400, 400, 400)),
    ("show own key pair", "GET", f"{C}/os-keypairs/pol-key", None, (404, 200, 404, 404)),
    ("show another user's key pair", "GET", f"{C}/os-keypairs/pol-key?user_id={{member_user}}",
     None, (403, 200, 200, 403)),
    ("delete key pair", "DELETE", f"{C}/os-keypairs/nope", None, (404, 404, 404, 404)),
    ("list server groups", "GET", f"{C}/os-server-groups", None, (200, 200, 200, 200)),
    ("create server group", "POST", f"{C}/os-server-groups", {"server_group": {}},
     (403, 400, 400, 400)),
    ("show server group", "GET", f"{C}/os-server-groups/{{group}}", None,
     (200, 200, 200, 404)),
    ("delete server group", "DELETE", f"{C}/os-server-groups/{{missing}}", None,
     (403, 404, 404, 404)),
    ("limits", "GET", f"{C}/limits", None, (200, 200, 200, 200)),
    ("quota", "GET", f"{C}/os-quota-sets/{{a}}", None, (200, 200, 200, 403)),
    ("quota detail", "GET", f"{C}/os-quota-sets/{{a}}/detail", None, (200, 200, 200, 403)),
    ("quota defaults", "GET", f"{C}/os-quota-sets/{{a}}/defaults", None,
     (200, 200, 200, 200)),
    ("update quota", "PUT", f"{C}/os-quota-sets/{{a}}", {"quota_set": {"instances": 10}},
     (403, 403, 200, 403)),
    ("revert quota", "DELETE", f"{C}/os-quota-sets/{{b}}", None, (403, 403, 202, 403)),
    ("zones", "GET", f"{C}/os-availability-zone", None, (200, 200, 200, 200)),
    ("zones detail", "GET", f"{C}/os-availability-zone/detail", None, (403, 403, 200, 403)),
]

IMG = "/image/v2/images"
IMAGE: list[tuple[str, str, str, Any, tuple[int, int, int, int]]] = [
    ("list images", "GET", IMG, None, (200, 200, 200, 200)),
    ("show image", "GET", f"{IMG}/{{image}}", None, (200, 200, 200, 404)),
    ("create image", "POST", IMG, {"disk_format": "bogus"}, (403, 400, 400, 400)),
    ("create public image", "POST", IMG, {"name": "x", "visibility": "public",
                                        "disk_format": "bogus"}, (403, 400, 400, 400)),
    ("delete image", "DELETE", f"{IMG}/{{missing}}", None, (403, 404, 404, 404)),
    ("upload image data", "PUT", f"{IMG}/{{missing}}/file", None, (403, 404, 404, 404)),
    ("download image data", "GET", f"{IMG}/{{image}}/file", None, (403, 200, 200, 404)),
]


def _persona_ids(rows: list[tuple[str, str, str, Any, tuple[int, int, int, int]]]
                 ) -> list[str]:
    return [r[0] for r in rows]


@pytest.mark.parametrize(("what", "method", "path", "body", "expected"), COMPUTE,
                         ids=_persona_ids(COMPUTE))
def test_compute_route_policy(world: World, what: str, method: str, path: str, body: Any,
                              expected: tuple[int, int, int, int]) -> None:
    for who, status in zip(PERSONAS, expected, strict=True):
        resp = world.call(who, method, path, body)
        assert resp.status_code == status, (what, who, resp.text)
        if status == 403:
            (fault,) = resp.json().values()
            assert fault["code"] == 403
            assert fault["message"].startswith("Policy doesn't allow os_compute_api:"), fault


@pytest.mark.parametrize(("what", "method", "path", "body", "expected"), IMAGE,
                         ids=_persona_ids(IMAGE))
def test_image_route_policy(world: World, what: str, method: str, path: str, body: Any,
                            expected: tuple[int, int, int, int]) -> None:
    for who, status in zip(PERSONAS, expected, strict=True):
        resp = world.call(who, method, path, body)
        assert resp.status_code == status, (what, who, resp.text)
        if status == 403:
            assert resp.json()["code"] == "403 Forbidden"
            assert resp.json()["message"].startswith("You are not authorized to complete")


def test_refused_writes_change_nothing(world: World) -> None:
    before = world.call("admin", "GET", "/compute/v2.1/servers?all_tenants=1").json()
    refused = world.call("reader", "POST", "/compute/v2.1/servers", {"server": {
        "name": "nope", "flavorRef": "pol-tiny", "imageRef": world.ids["image"],
        "networks": "none"}})
    assert refused.status_code == 403
    assert refused.json() == {"forbidden": {"code": 403, "message": (
        "Policy doesn't allow os_compute_api:servers:create to be performed.")}}
    assert world.call("reader", "DELETE", SRV).status_code == 403
    assert world.call("reader", "PUT", SRV, {"server": {"name": "renamed"}}).status_code == 403
    assert world.call("reader", "POST", f"{SRV}/action", {"os-stop": None}).status_code == 403
    after = world.call("admin", "GET", "/compute/v2.1/servers?all_tenants=1").json()
    assert after == before
    assert world.call("member", "GET", SRV).json()["server"]["name"] == "pol-vm"
    public = world.call("member", "POST", IMG, {"name": "pub", "visibility": "public"})
    assert public.status_code == 403
    assert public.json()["message"] == "You are not authorized to complete publicize_image action."
    names = [i["name"] for i in world.call("admin", "GET", IMG).json()["images"]]
    assert "pub" not in names and "nope" not in names


def test_all_tenants_and_admin_fields_follow_policy(world: World) -> None:
    for who in ("reader", "member"):
        listed = world.call(who, "GET", "/compute/v2.1/servers/detail?all_tenants=1").json()
        assert [s["id"] for s in listed["servers"]] == [world.ids["server"]]
        assert "OS-EXT-SRV-ATTR:host" not in listed["servers"][0]
    assert world.call("other", "GET", "/compute/v2.1/servers?all_tenants=1").json()[
        "servers"] == []
    everyone = world.call("admin", "GET", "/compute/v2.1/servers/detail?all_tenants=1")
    mine = [s for s in everyone.json()["servers"] if s["id"] == world.ids["server"]]
    assert len(mine) == 1 and "OS-EXT-SRV-ATTR:host" in mine[0]
    other_limits = world.call("member", "GET", "/compute/v2.1/limits?tenant_id={b}")
    assert other_limits.status_code == 200  # tenant_id is ignored for non-admins


def test_versions_need_no_token(world: World) -> None:
    assert world.call(None, "GET", "/compute/").status_code in (200, 300)
    assert world.call(None, "GET", "/compute/v2.1").status_code == 200
    assert world.call(None, "GET", "/compute/v2.1/servers").status_code == 401
    assert world.call(None, "GET", "/image/v2/images").status_code == 401


PLACEMENT = [
    ("GET", "/resource_providers"), ("POST", "/resource_providers"),
    ("GET", "/resource_providers/{missing}"), ("PUT", "/resource_providers/{missing}"),
    ("DELETE", "/resource_providers/{missing}"),
    ("GET", "/resource_providers/{missing}/inventories"),
    ("POST", "/resource_providers/{missing}/inventories"),
    ("PUT", "/resource_providers/{missing}/inventories"),
    ("DELETE", "/resource_providers/{missing}/inventories"),
    ("GET", "/resource_providers/{missing}/inventories/VCPU"),
    ("PUT", "/resource_providers/{missing}/inventories/VCPU"),
    ("DELETE", "/resource_providers/{missing}/inventories/VCPU"),
    ("GET", "/resource_providers/{missing}/aggregates"),
    ("PUT", "/resource_providers/{missing}/aggregates"),
    ("GET", "/resource_providers/{missing}/usages"), ("GET", "/usages?project_id=x"),
    ("GET", "/traits"), ("GET", "/traits/CUSTOM_NOPE"), ("PUT", "/traits/CUSTOM_NOPE"),
    ("DELETE", "/traits/CUSTOM_NOPE"), ("GET", "/resource_providers/{missing}/traits"),
    ("PUT", "/resource_providers/{missing}/traits"),
    ("DELETE", "/resource_providers/{missing}/traits"),
    ("GET", "/resource_classes"), ("POST", "/resource_classes"),
    ("GET", "/resource_classes/CUSTOM_NOPE"), ("PUT", "/resource_classes/CUSTOM_NOPE"),
    ("DELETE", "/resource_classes/CUSTOM_NOPE"), ("GET", "/allocations/{missing}"),
    ("PUT", "/allocations/{missing}"), ("POST", "/allocations"),
    ("DELETE", "/allocations/{missing}"), ("GET", "/resource_providers/{missing}/allocations"),
    ("GET", "/allocation_candidates?resources=VCPU:1"), ("POST", "/reshaper"),
]


def test_placement_is_admin_only(world: World) -> None:
    for method, path in PLACEMENT:
        for who in ("reader", "member", "other"):
            resp = world.call(who, method, f"/placement{path}")
            assert resp.status_code == 403, (method, path, who, resp.text)
            (error,) = resp.json()["errors"]
            assert error["status"] == 403 and error["title"] == "Forbidden"
        allowed = world.call("admin", method, f"/placement{path}")
        if path == "/reshaper":
            # For services only, as upstream's default (nova-compute reshapes).
            assert allowed.status_code == 403, allowed.text
            continue
        assert allowed.status_code != 403, (method, path, allowed.text)
    assert world.call(None, "GET", "/placement/").status_code == 200
    listed = world.call("admin", "GET", "/placement/resource_providers")
    assert listed.status_code == 200 and listed.json()["resource_providers"]


def test_policy_file_overrides_and_is_reread(world: World) -> None:
    create = {"flavor": {"name": "pol.member", "ram": 64, "vcpus": 1, "disk": 0,
                         "id": "pol-member"}}
    assert world.call("member", "POST", "/compute/v2.1/flavors", create).status_code == 403
    assert world.call("reader", "GET", "/compute/v2.1/servers").status_code == 200
    try:
        _write_policy(world.policy_file, (
            '"os_compute_api:os-flavor-manage:create": "rule:project_member_or_admin"\n'
            '"os_compute_api:servers:index": "rule:project_member_or_admin"\n'
            '"os_compute_api:servers:index:get_all_tenants": "role:member"\n'))
        made = world.call("member", "POST", "/compute/v2.1/flavors", create)
        assert made.status_code == 200, made.text
        refused = world.call("reader", "GET", "/compute/v2.1/servers")
        assert refused.status_code == 403
        assert "os_compute_api:servers:index" in refused.json()["forbidden"]["message"]
        assert world.call("reader", "GET", "/compute/v2.1/servers/detail").status_code == 200
        # Finer checks inside handlers read the same file: B's member may list all projects.
        everyone = world.call("other", "GET", "/compute/v2.1/servers?all_tenants=1").json()
        assert world.ids["server"] in [s["id"] for s in everyone["servers"]]
        assert world.call("other", "GET", "/compute/v2.1/servers/detail?all_tenants=1"
                          ).json()["servers"] == []  # servers:detail:get_all_tenants: admin
    finally:
        _write_policy(world.policy_file, "{}\n")
        world.call("admin", "DELETE", "/compute/v2.1/flavors/pol-member")
    assert world.call("reader", "GET", "/compute/v2.1/servers").status_code == 200


def _write_policy(path: Path, text: str) -> None:
    before = path.stat().st_mtime
    path.write_text(text)
    os.utime(path, (before + 10, before + 10))  # a change even on coarse timestamps
    time.sleep(RELOAD_CHECK_INTERVAL + 0.1)  # the file is looked at once a second
