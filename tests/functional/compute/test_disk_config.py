"""OS-DCF:diskConfig is kept as asked at create, update, rebuild and resize."""

from __future__ import annotations

from tests.cloud import CloudClient
from tests.functional.compute.actions_helpers import act, settled


def _disk(client: CloudClient, server_id: str) -> str:
    return str(client.server(server_id)["OS-DCF:diskConfig"])


def test_disk_config_follows_create_update_rebuild_and_resize(client: CloudClient) -> None:
    small = client.create_flavor("small", ram=64)
    client.create_flavor("large", ram=128)
    image = client.create_image()
    created = client.compute("POST", "/servers", json={"server": {
        "name": "auto", "flavorRef": small, "imageRef": image, "networks": "none",
        "OS-DCF:diskConfig": "AUTO"}})
    assert created.status_code == 202, created.text
    assert created.json()["server"]["OS-DCF:diskConfig"] == "AUTO"
    auto = created.json()["server"]["id"]
    manual = client.boot(small, image, name="manual")
    settled(client, auto, "ACTIVE")
    settled(client, manual, "ACTIVE")
    assert (_disk(client, auto), _disk(client, manual)) == ("AUTO", "MANUAL")

    def listed(value: str) -> set[str]:
        resp = client.compute("GET", "/servers", params={"auto_disk_config": value})
        assert resp.status_code == 200, resp.text
        return {s["id"] for s in resp.json()["servers"]}

    assert listed("true") == {auto}
    assert listed("false") == {manual}

    updated = client.compute("PUT", f"/servers/{auto}",
                             json={"server": {"OS-DCF:diskConfig": "MANUAL"}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["server"]["OS-DCF:diskConfig"] == "MANUAL"
    assert _disk(client, auto) == "MANUAL"

    rebuilt = act(client, manual, {"rebuild": {"imageRef": image,
                                               "OS-DCF:diskConfig": "AUTO"}})
    assert rebuilt.status_code == 202, rebuilt.text
    assert rebuilt.json()["server"]["OS-DCF:diskConfig"] == "AUTO"
    settled(client, manual, "ACTIVE")
    assert _disk(client, manual) == "AUTO"

    resized = act(client, manual, {"resize": {"flavorRef": "large",
                                              "OS-DCF:diskConfig": "MANUAL"}})
    assert resized.status_code == 202, resized.text
    settled(client, manual, "VERIFY_RESIZE")
    assert act(client, manual, {"confirmResize": None}).status_code == 204
    settled(client, manual, "ACTIVE")
    assert _disk(client, manual) == "MANUAL"

    # A value other than AUTO or MANUAL is refused and changes nothing.
    for body in ({"server": {"OS-DCF:diskConfig": "SOMETIMES"}},):
        refused = client.compute("PUT", f"/servers/{manual}", json=body)
        assert refused.status_code == 400, refused.text
    refused = act(client, manual, {"resize": {"flavorRef": small,
                                              "OS-DCF:diskConfig": "SOMETIMES"}})
    assert refused.status_code == 400, refused.text
    assert _disk(client, manual) == "MANUAL"
    assert client.server(manual)["status"] == "ACTIVE"


def test_personality_contents_must_be_base64(client: CloudClient) -> None:
    flavor, image = client.create_flavor(), client.create_image()

    def create(contents: str) -> int:
        return client.compute("POST", "/servers", json={"server": {
            "name": "p", "flavorRef": flavor, "imageRef": image, "networks": "none",
            "personality": [{"path": "/etc/f", "contents": contents}]}}).status_code

    assert create("This is a test file.") == 400
    assert client.compute("GET", "/servers").json()["servers"] == []
    assert create("VGhpcyBpcyBhIHRlc3QgZmlsZS4=") == 202
    [server] = client.compute("GET", "/servers").json()["servers"]
    settled(client, server["id"], "ACTIVE")
    rebuild = act(client, server["id"], {"rebuild": {
        "imageRef": image, "personality": [{"path": "/etc/f", "contents": "not base64!"}]}})
    assert rebuild.status_code == 400, rebuild.text
    assert client.server(server["id"])["status"] == "ACTIVE"


def test_auto_is_refused_for_an_image_that_disables_it(client: CloudClient) -> None:
    small = client.create_flavor("small", ram=64)
    client.create_flavor("large", ram=128)
    made = client.http.post("/image/v2/images", json={
        "name": "fixed", "disk_format": "raw", "container_format": "bare",
        "auto_disk_config": "disabled"})
    assert made.status_code == 201, made.text
    image = made.json()["id"]
    put = client.http.put(f"/image/v2/images/{image}/file", content=b"\0" * 1024,
                          headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 204, put.text

    refused = client.compute("POST", "/servers", json={"server": {
        "name": "auto", "flavorRef": small, "imageRef": image, "networks": "none",
        "OS-DCF:diskConfig": "AUTO"}})
    assert refused.status_code == 400, refused.text
    assert "automatic disk resize disabled" in refused.json()["badRequest"]["message"]
    assert client.compute("GET", "/servers").json()["servers"] == []
    server_id = client.boot(small, image)
    settled(client, server_id, "ACTIVE")
    for body in ({"resize": {"flavorRef": "large", "OS-DCF:diskConfig": "AUTO"}},
                 {"rebuild": {"imageRef": image, "OS-DCF:diskConfig": "AUTO"}}):
        answer = act(client, server_id, body)
        assert answer.status_code == 400, (body, answer.text)
    shown = client.server(server_id)
    assert (shown["status"], shown["OS-DCF:diskConfig"]) == ("ACTIVE", "MANUAL")
