"""A server's addresses as /servers/{id}/ips shows them."""

from __future__ import annotations

import pytest

from common.compute_db.models import Instance
from common.errors import NotFound
from compute_api import server_extras


def _server(addresses: dict[str, list[dict[str, object]]] | None) -> Instance:
    return Instance(display_name="s", project_id="p", user_id="u", flavor={},
                    vm_state="active", reservation_id="r", addresses=addresses)


def test_ips_show_version_and_address_per_network() -> None:
    inst = _server({"private": [
        {"version": 4, "addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed",
         "OS-EXT-IPS-MAC:mac_addr": "52:54:00:00:00:01"},
        {"version": 6, "addr": "fd00::5", "OS-EXT-IPS:type": "fixed",
         "OS-EXT-IPS-MAC:mac_addr": "52:54:00:00:00:01"}]})
    assert server_extras.addresses(inst) == {"private": [
        {"version": 4, "addr": "10.0.0.5"}, {"version": 6, "addr": "fd00::5"}]}
    assert server_extras.network_addresses(inst, "private")[1] == {
        "version": 6, "addr": "fd00::5"}


def test_a_network_the_server_is_not_on_is_not_found() -> None:
    for inst in (_server(None), _server({"private": []})):
        with pytest.raises(NotFound, match="not a member of specified network"):
            server_extras.network_addresses(inst, "public")
    assert server_extras.addresses(_server(None)) == {}


def test_the_password_is_empty_until_the_guest_left_one() -> None:
    inst = _server(None)
    assert server_extras.password(inst) == ""
    inst.password = "c2VjcmV0"
    assert server_extras.password(inst) == "c2VjcmV0"
