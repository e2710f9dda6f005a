"""A client of an external Neutron v2.0 (``[network] backend = neutron``).

Two ways of asking: as the caller (the API checks the networks, ports and security
groups a request names with the caller's own token, so Neutron decides what the caller
may use, as Nova does) and as the service (the conductor creates, binds and releases a
server's ports with the service credentials of ``[auth]``). Neutron's answers become this
project's typed errors: its 404 NotFound, 409 Conflict (``OverQuota``: QuotaExceeded), 400
BadRequest, 403 Forbidden; an unreachable Neutron or a 5xx is ServiceUnavailable.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import httpx

from common.auth import client_auth
from common.errors import (
    BadRequest,
    ConfigError,
    Conflict,
    ControlPlaneError,
    Forbidden,
    NotFound,
    QuotaExceeded,
    ServiceUnavailable,
)
from common.messages import (
    MetadataFacts,
    MetadataFixedIp,
    MetadataPort,
    MetadataSubnet,
    PortAddress,
    PortPayload,
)
from common.settings import Settings

LOG = logging.getLogger(__name__)

# Ids per list query (Neutron takes repeated ``id=`` filters; URLs stay short).
_IDS_PER_QUERY = 50


def neutron_enabled(settings: Settings) -> bool:
    return settings.network.backend == "neutron"


class NeutronClient:
    """Neutron's v2.0 API at ``[network] neutron_url``."""

    def __init__(self, settings: Settings) -> None:
        if not settings.network.neutron_url:
            raise ConfigError("[network] backend = neutron needs [network] neutron_url")
        self.url = settings.network.neutron_url.rstrip("/")
        self._settings = settings
        self._http = httpx.Client(timeout=settings.network.neutron_timeout)
        self._service: httpx.Auth | None = None
        self._service_token = ""

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
             token: str | None = None, query: Iterable[tuple[str, str]] = ()
             ) -> dict[str, Any]:
        """One request; its JSON answer ({} for 204). ``token``: the caller's (None: the
        service's). Raises the typed error Neutron's answer maps to."""
        url = f"{self.url}/v2.0{path}"
        pairs = list(query)
        if pairs:
            url += "?" + urlencode(pairs)
        headers = {"Accept": "application/json"}
        auth: httpx.Auth | None = None
        if token is not None:
            headers["X-Auth-Token"] = token
        else:
            auth, service_token = self._service_auth()
            if service_token:
                headers["X-Auth-Token"] = service_token
        try:
            resp = self._http.request(method, url, json=body, headers=headers,
                                      auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"network service at {self.url} unreachable: {exc}"
                                     ) from exc
        if resp.status_code < 300:
            try:
                return resp.json() if resp.content else {}
            except ValueError:
                raise ServiceUnavailable(f"network service at {self.url} answered "
                                         "something that is not JSON") from None
        raise _fault(method, path, resp)

    def _service_auth(self) -> tuple[httpx.Auth | None, str]:
        if self._service is None and not self._service_token:
            net = self._settings.network
            if net.neutron_username:
                self._service = _user_auth(self._settings)
            else:
                auth = client_auth(self._settings)
                self._service, self._service_token = auth["auth"], auth["token"]
        return self._service, self._service_token

    # Reads and writes the compute side needs.

    def ports_of(self, device_id: str, project_id: str | None = None
                 ) -> list[dict[str, Any]]:
        """A server's ports, as the service sees them; ``project_id``: only that
        project's (a port another project points at the server is never the server's)."""
        query = [("device_id", device_id)]
        if project_id is not None:
            query.append(("project_id", project_id))
        found = self.call("GET", "/ports", query=query)
        return list(found.get("ports", []))

    def server_ports(self, device_id: str, project_id: str | None,
                     network_request: dict[str, Any] | None) -> list[dict[str, Any]]:
        """A server's ports (``ports_of``) in its guest's interface order
        (``in_request_order``)."""
        return in_request_order(self.ports_of(device_id, project_id), network_request)

    def by_ids(self, collection: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        """Resources of a collection (``subnets``, ``networks``...) by id, as the service."""
        wanted = sorted(set(ids))
        out: list[dict[str, Any]] = []
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start:start + _IDS_PER_QUERY]
            answer = self.call("GET", f"/{collection}", query=[("id", i) for i in chunk])
            out.extend(answer.get(collection.replace("-", "_"), []))
        return out

    def floating_ips_of(self, port_ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = sorted(set(port_ids))
        out: list[dict[str, Any]] = []
        for start in range(0, len(ids), _IDS_PER_QUERY):  # URLs of a bounded length
            answer = self.call("GET", "/floatingips", query=[
                ("port_id", i) for i in ids[start:start + _IDS_PER_QUERY]])
            out.extend(answer.get("floatingips", []))
        return out


def _made_order(port: dict[str, Any]) -> tuple[str, str]:
    return str(port.get("created_at") or ""), str(port["id"])


def in_request_order(ports: list[dict[str, Any]], network_request: dict[str, Any] | None
                     ) -> list[dict[str, Any]]:
    """A server's ports in the order its create asked for them, as its guest has its
    interfaces: a handed-in port where it was named, a port made on a network where that
    network was named (the oldest first); ports attached later follow, oldest first."""
    spare = sorted(ports, key=_made_order)
    named = {str(i["port_id"]) for i in (network_request or {}).get("interfaces", [])
             if i.get("port_id")}
    by_id = {str(p["id"]): p for p in spare}
    spare = [p for p in spare if str(p["id"]) not in named]
    ordered: list[dict[str, Any]] = []
    for iface in (network_request or {}).get("interfaces", []):
        if iface.get("port_id"):
            port = by_id.get(str(iface["port_id"]))
        else:
            port = next((p for p in spare if p.get("network_id") == iface.get("network_id")),
                        None)
            if port is not None:
                spare.remove(port)
        if port is not None and port not in ordered:
            ordered.append(port)
    return ordered + spare


class NeutronView:
    """A server's ports as Neutron shows them, with their subnets, networks and
    floating IPs: what the guest, its host and the compute API are told."""

    def __init__(self, ports: list[dict[str, Any]], subnets: dict[str, dict[str, Any]],
                 networks: dict[str, dict[str, Any]],
                 floating: dict[tuple[str, str], list[str]], groups: list[str]) -> None:
        self.ports, self.subnets, self.networks = ports, subnets, networks
        self.floating, self.groups = floating, groups

    @classmethod
    def read(cls, neutron: NeutronClient, ports: list[dict[str, Any]]) -> NeutronView:
        subnet_ids = {ip["subnet_id"] for p in ports for ip in p.get("fixed_ips", [])}
        subnets = {s["id"]: s for s in neutron.by_ids("subnets", subnet_ids)} \
            if subnet_ids else {}
        networks = {n["id"]: n for n in neutron.by_ids(
            "networks", {p["network_id"] for p in ports})} if ports else {}
        floating: dict[tuple[str, str], list[str]] = {}
        for fip in neutron.floating_ips_of(p["id"] for p in ports):
            key = (str(fip.get("port_id")), str(fip.get("fixed_ip_address")))
            floating.setdefault(key, []).append(str(fip["floating_ip_address"]))
        group_ids = {g for p in ports for g in p.get("security_groups", [])}
        groups = sorted({str(g.get("name") or g["id"]) for g in neutron.by_ids(
            "security-groups", group_ids)}) if group_ids else []
        return cls(ports, subnets, networks, floating, groups)

    def _version(self, subnet_id: str) -> int:
        return int(self.subnets.get(subnet_id, {}).get("ip_version") or 4)

    def addresses(self) -> dict[str, list[dict[str, Any]]]:
        """Network name -> fixed addresses, each followed by its floating ones."""
        out: dict[str, list[dict[str, Any]]] = {}
        for port in self.ports:
            net = self.networks.get(port["network_id"], {})
            shown = out.setdefault(str(net.get("name") or port["network_id"]), [])
            mac = port.get("mac_address")
            for ip in port.get("fixed_ips", []):
                shown.append({"version": self._version(ip["subnet_id"]),
                              "addr": ip["ip_address"], "OS-EXT-IPS:type": "fixed",
                              "OS-EXT-IPS-MAC:mac_addr": mac})
                shown.extend({"version": 4, "addr": a, "OS-EXT-IPS:type": "floating",
                              "OS-EXT-IPS-MAC:mac_addr": mac}
                             for a in self.floating.get((port["id"], ip["ip_address"]), []))
        return out

    def payloads(self) -> list[PortPayload]:
        return [PortPayload(
            id=uuid.UUID(p["id"]), network_id=uuid.UUID(p["network_id"]),
            mac_address=p["mac_address"],
            mtu=self.networks.get(p["network_id"], {}).get("mtu"),
            fixed_ips=[PortAddress(subnet_id=uuid.UUID(ip["subnet_id"]),
                                   ip_address=ip["ip_address"],
                                   version=self._version(ip["subnet_id"]))
                       for ip in p.get("fixed_ips", [])],
            vif_type=str(p.get("binding:vif_type") or "") or None,
            vif_details=dict(p.get("binding:vif_details") or {}))
            for p in self.ports]

    def facts(self, instance_id: int, reservation_id: str) -> MetadataFacts:
        ports = []
        for p in self.ports:
            fixed = []
            for ip in p.get("fixed_ips", []):
                subnet = self.subnets.get(ip["subnet_id"])
                if subnet is None:
                    continue
                fixed.append(MetadataFixedIp(ip_address=ip["ip_address"], subnet=MetadataSubnet(
                    id=uuid.UUID(subnet["id"]), ip_version=int(subnet["ip_version"]),
                    cidr=str(subnet["cidr"]), gateway_ip=subnet.get("gateway_ip"),
                    dns_nameservers=[str(a) for a in subnet.get("dns_nameservers") or []],
                    host_routes=[{"destination": str(r["destination"]),
                                  "nexthop": str(r["nexthop"])}
                                 for r in subnet.get("host_routes") or []],
                    ipv6_address_mode=subnet.get("ipv6_address_mode"))))
            ports.append(MetadataPort(
                id=uuid.UUID(p["id"]), network_id=uuid.UUID(p["network_id"]),
                mac_address=p["mac_address"],
                mtu=self.networks.get(p["network_id"], {}).get("mtu"),
                vif_type=str(p.get("binding:vif_type") or "ovs"), fixed_ips=fixed,
                floating_ips=[a for ip in p.get("fixed_ips", [])
                              for a in self.floating.get((p["id"], ip["ip_address"]), [])]))
        return MetadataFacts(instance_id=instance_id, reservation_id=reservation_id,
                             security_groups=self.groups, ports=ports)


def _user_auth(settings: Settings) -> httpx.Auth:
    """``[network] neutron_username``'s token from its identity endpoint, renewed as it
    expires (and after a 401)."""
    from common.keystone import KeystoneValidator, ServiceAuth
    from common.settings import KeystoneSettings

    net = settings.network
    auth_url = net.neutron_auth_url or settings.keystone.auth_url
    if not auth_url or not net.neutron_password:
        raise ConfigError("[network] neutron_username needs neutron_password and "
                          "neutron_auth_url (or [keystone] auth_url)")
    cfg = KeystoneSettings(auth_url=auth_url, username=net.neutron_username,
                           password=net.neutron_password,
                           project_name=net.neutron_project_name,
                           timeout=net.neutron_timeout)
    return ServiceAuth(KeystoneValidator(cfg))


def _fault(method: str, path: str, resp: httpx.Response) -> ControlPlaneError:
    kind, message = "", resp.text[:300]
    try:
        doc = resp.json()
        err = doc.get("NeutronError") if isinstance(doc, dict) else None
        if isinstance(err, dict):
            kind, message = str(err.get("type", "")), str(err.get("message", message))
    except ValueError:
        pass
    status = resp.status_code
    if status == 404:
        return NotFound(message)
    if status == 409 and kind == "OverQuota":
        return QuotaExceeded(message)
    if status == 409:
        return Conflict(message)
    if status == 400:
        return BadRequest(message)
    if status == 403:
        return Forbidden(message)
    LOG.error("Neutron answered %s to %s %s: %s", status, method, path, message)
    return ServiceUnavailable(f"network service answered {status}: {message}")
