"""The operations upstream's Compute API removed; they answer 410 Gone
(``compute_api/api/removed.py``)."""

from __future__ import annotations

# (method, path) of each removed operation.
REMOVED: tuple[tuple[str, str], ...] = (
    *(("GET", p) for p in ("/os-agents", "/os-cells", "/os-cells/capacities",
                           "/os-cells/detail", "/os-cells/info", "/os-cells/{id}",
                           "/os-cells/{id}/capacities", "/os-certificates/{id}",
                           "/os-cloudpipe", "/os-fixed-ips/{id}", "/os-floating-ip-dns",
                           "/os-floating-ips-bulk", "/os-floating-ips-bulk/{id}",
                           "/os-fping", "/os-fping/{id}", "/os-security-group-default-rules",
                           "/os-security-group-default-rules/{id}",
                           "/servers/{server_id}/consoles",
                           "/servers/{server_id}/consoles/{id}",
                           "/servers/{server_id}/os-virtual-interfaces")),
    *(("POST", p) for p in ("/os-agents", "/os-cells", "/os-cells/sync_instances",
                            "/os-certificates", "/os-cloudpipe", "/os-fixed-ips/{id}/action",
                            "/os-floating-ips-bulk", "/os-networks", "/os-networks/add",
                            "/os-networks/{id}/action", "/os-security-group-default-rules",
                            "/os-tenant-networks", "/servers/{server_id}/consoles")),
    *(("PUT", p) for p in ("/os-agents/{id}", "/os-cells/{id}", "/os-cloudpipe/{id}",
                           "/os-floating-ip-dns/{id}", "/os-floating-ips-bulk/{id}")),
    *(("DELETE", p) for p in ("/os-agents/{id}", "/os-cells/{id}", "/os-floating-ip-dns/{id}",
                              "/os-networks/{id}", "/os-security-group-default-rules/{id}",
                              "/os-tenant-networks/{id}",
                              "/servers/{server_id}/consoles/{id}")),
)
