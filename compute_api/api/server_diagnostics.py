"""GET /servers/{id}/diagnostics and /servers/{id}/topology: what the server's host
reports of its guest."""

from __future__ import annotations

from typing import Any

from common.errors import NotFound
from common.routes import Route
from compute_api import host_actions
from compute_api.api.deps import ContextDep, ReadSessionDep, RuntimeDep, VersionDep


def server_diagnostics(server_id: str, ctx: ContextDep, session: ReadSessionDep,
                       runtime: RuntimeDep, version: VersionDep) -> dict[str, Any]:
    found = host_actions.diagnostics(session, ctx, server_id, runtime)
    return found if version.at_least("2.48") else legacy_diagnostics(found)


def legacy_diagnostics(diags: dict[str, Any]) -> dict[str, Any]:
    """The free-form dict of microversions before 2.48, named as upstream's libvirt
    driver names its keys."""
    out: dict[str, Any] = {}
    for cpu in diags.get("cpu_details", []):
        out[f"cpu{cpu['id']}_time"] = cpu.get("time")
    memory = diags.get("memory_details", {})
    out["memory"] = (memory.get("maximum") or 0) * 1024
    out["memory-actual"] = (memory.get("used") or 0) * 1024
    for index, disk in enumerate(diags.get("disk_details", [])):
        name = f"vd{chr(ord('a') + index)}"
        out.update({f"{name}_read": disk["read_bytes"], f"{name}_write": disk["write_bytes"],
                    f"{name}_read_req": disk["read_requests"],
                    f"{name}_write_req": disk["write_requests"],
                    f"{name}_errors": disk["errors_count"]})
    for index, nic in enumerate(diags.get("nic_details", [])):
        name = f"vnet{index}"
        for key in ("rx_octets", "rx_errors", "rx_drop", "rx_packets", "tx_octets",
                    "tx_errors", "tx_drop", "tx_packets"):
            out[f"{name}_{key.replace('_octets', '')}"] = nic.get(key)
    return out


def server_topology(server_id: str, ctx: ContextDep, session: ReadSessionDep,
                    version: VersionDep) -> dict[str, Any]:
    if not version.at_least("2.78"):
        raise NotFound("The resource could not be found.")
    return host_actions.topology(session, ctx, server_id)


ROUTES: list[Route] = [
    Route("GET", "/v2.1/servers/{server_id}/diagnostics", server_diagnostics,
          "os_compute_api:os-server-diagnostics"),
    Route("GET", "/v2.1/servers/{server_id}/topology", server_topology,
          "compute:server:topology:index", min_version="2.78"),
]
