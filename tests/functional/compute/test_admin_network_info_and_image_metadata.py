"""injectNetworkInfo (admin) and createImage's metadata, as upstream's API answers them."""

from __future__ import annotations

from tests.cloud import CloudClient
from tests.functional.compute.actions_helpers import act, settled


def test_inject_network_info_is_an_admins_and_image_metadata_is_checked(
        client: CloudClient) -> None:
    server_id = client.boot(client.create_flavor(), client.create_image())
    settled(client, server_id, "ACTIVE")
    assert act(client, server_id, {"injectNetworkInfo": None}).status_code == 202
    member = CloudClient(client.http.base_url.__str__().removesuffix("/"), token="bob:other")
    try:
        assert act(member, server_id, {"injectNetworkInfo": None}).status_code in (403, 404)
    finally:
        member.close()
    unknown = act(client, "00000000-0000-0000-0000-000000000000", {"injectNetworkInfo": None})
    assert unknown.status_code == 404, unknown.text

    images = {i["id"] for i in client.http.get("/image/v2/images").json()["images"]}
    for metadata in ({"": ""}, {"a" * 256: "b"}, {"k": "v" * 256}, {"k": 1}):
        refused = act(client, server_id, {"createImage": {"name": "snap",
                                                          "metadata": metadata}})
        assert refused.status_code == 400, (metadata, refused.text)
        assert "badRequest" in refused.json()
    assert {i["id"] for i in client.http.get("/image/v2/images").json()["images"]} == images
    made = act(client, server_id, {"createImage": {"name": "snap",
                                                   "metadata": {"kind: a.b-c_d": "v"}}})
    assert made.status_code == 202, made.text
    assert client.server(server_id)["status"] in ("ACTIVE",)
