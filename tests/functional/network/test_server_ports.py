"""The interface servers use: ports made, bound, listed and released for a server."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, sessionmaker

from common.compute_db.network_queries import bind_server_ports
from common.context import RequestContext
from common.db import transaction
from compute_api.network import ports
from tests.functional.network.conftest import Net


def _ctx(project: str) -> RequestContext:
    return RequestContext(user_id="u", project_id=project, roles=("member", "reader"),
                          request_id="req-test")


def test_server_ports_lifecycle(db: sessionmaker[Session], member: Net) -> None:
    net = member.network()
    member.subnet(net["id"], "10.30.0.0/24")
    mine = member.port(net["id"])  # handed in by the user: kept when the server goes
    server = uuid.uuid4()
    ctx = _ctx(member.project)
    with transaction(db) as session:
        made = ports.create_for_server(session, ctx, server, network_id=net["id"],
                                       fixed_ip="10.30.0.40")
        attached = ports.create_for_server(session, ctx, server, port_id=mine["id"])
        made_id, attached_id = made.id, attached.id
    with transaction(db) as session:
        bind_server_ports(session, server, "host-1", "ACTIVE", port_ids=[made_id])
        listed = ports.list_for_server(session, server)
        assert {p.id for p in listed} == {made_id, attached_id}
        assert ports.addresses(session, made_id)[0][1] == "10.30.0.40"
    shown = member.get(f"/ports/{made_id}").json()["port"]
    assert (shown["status"], shown["device_id"], shown["device_owner"]) == (
        "ACTIVE", str(server), "compute:nova")
    with transaction(db) as session:
        ports.release_for_server(session, server)
    assert member.get(f"/ports/{made_id}").status_code == 404
    kept = member.get(f"/ports/{attached_id}").json()["port"]
    assert kept["device_id"] == "" and kept["status"] == "DOWN"
    again = member.port(net["id"], fixed_ips=[{"ip_address": "10.30.0.40"}])
    assert again["fixed_ips"][0]["ip_address"] == "10.30.0.40"
