"""The compute API's networking actions on a server: addSecurityGroup,
removeSecurityGroup, addFloatingIp and removeFloatingIp (until 2.43), and the server's
security groups (GET /servers/{id}/os-security-groups). ``api/server_actions.py`` serves
the actions (it imports ``HANDLERS``)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from common.errors import BadRequest, NotFound
from common.routes import Route
from compute_api import neutron_network_actions as external
from compute_api import server_network_actions as actions
from compute_api.api.deps import ContextDep, ReadSessionDep, RuntimeDep, tell_data_planes
from compute_api.api.server_actions import (
    Call,
    ServerAction,
    _accepted,
    _object,
    args_schema,
)

# Floating IPs through the compute API ended with 2.44 (they are the network API's).
FLOATING_IP_ACTIONS_UNTIL = "2.43"


def _name_arg(name: str, call: Call) -> str:
    args = _object(name, call.args, {"name"}, {"name"})
    value = args["name"]
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"Invalid input for field/attribute name. Value: {value}.")
    return value.strip()


def _add_group(call: Call) -> Response:
    name = _name_arg("addSecurityGroup", call)
    if call.runtime.neutron is not None:
        external.add_security_group(call.session, call.ctx, call.runtime.neutron,
                                    call.server_id, name)
        return _accepted()
    actions.add_security_group(call.session, call.ctx, call.server_id, name)
    tell_data_planes(call.runtime, call.after_commit)
    return _accepted()


def _remove_group(call: Call) -> Response:
    name = _name_arg("removeSecurityGroup", call)
    if call.runtime.neutron is not None:
        external.remove_security_group(call.session, call.ctx, call.runtime.neutron,
                                       call.server_id, name)
        return _accepted()
    actions.remove_security_group(call.session, call.ctx, call.server_id, name)
    tell_data_planes(call.runtime, call.after_commit)
    return _accepted()


def _floating_served(call: Call) -> None:
    if call.version.at_least("2.44"):
        raise NotFound("The resource could not be found.")


def _add_floating(call: Call) -> Response:
    _floating_served(call)
    args = _object("addFloatingIp", call.args, {"address", "fixed_address"}, {"address"})
    if call.runtime.neutron is not None:
        external.add_floating_ip(call.session, call.ctx, call.runtime.neutron,
                                 call.server_id, str(args["address"]),
                                 args.get("fixed_address"))
        return _accepted()
    actions.add_floating_ip(call.session, call.ctx, call.server_id, str(args["address"]),
                            args.get("fixed_address"))
    tell_data_planes(call.runtime, call.after_commit)
    return _accepted()


def _remove_floating(call: Call) -> Response:
    _floating_served(call)
    args = _object("removeFloatingIp", call.args, {"address"}, {"address"})
    if call.runtime.neutron is not None:
        external.remove_floating_ip(call.session, call.ctx, call.runtime.neutron,
                                    call.server_id, str(args["address"]))
        return _accepted()
    actions.remove_floating_ip(call.session, call.ctx, call.server_id, str(args["address"]))
    tell_data_planes(call.runtime, call.after_commit)
    return _accepted()


_NAME = args_schema({"name": {"type": "string", "minLength": 1, "maxLength": 255}}, {"name"})
_ADDRESS = {"type": "string", "minLength": 1, "maxLength": 64}

HANDLERS: dict[str, ServerAction] = {
    "addSecurityGroup": ServerAction(_add_group, _NAME),
    "removeSecurityGroup": ServerAction(_remove_group, _NAME),
    "addFloatingIp": ServerAction(_add_floating, args_schema(
        {"address": _ADDRESS, "fixed_address": _ADDRESS}, {"address"})),
    "removeFloatingIp": ServerAction(_remove_floating, args_schema(
        {"address": _ADDRESS}, {"address"})),
}


def list_server_security_groups(server_id: str, ctx: ContextDep, session: ReadSessionDep,
                                runtime: RuntimeDep) -> dict[str, Any]:
    if runtime.neutron is not None:
        return {"security_groups": external.server_groups(session, ctx, runtime.neutron,
                                                          server_id)}
    groups = actions.server_groups(session, ctx, server_id)
    return {"security_groups": [actions.group_view(session, g) for g in groups]}


ROUTES: list[Route] = [
    Route("GET", "/v2.1/servers/{server_id}/os-security-groups", list_server_security_groups,
          "os_compute_api:os-security-groups:list"),
]
