"""The data plane of one host: programs its kernel networking from a desired state."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from common.errors import ConfigError
from common.messages import HostNetwork, HostNetworkState
from compute_agent.network import names
from compute_agent.network.dhcp import Dhcp, serves_dhcp, serves_metadata
from compute_agent.network.firewall import Firewall
from compute_agent.network.links import ZERO_MAC, Layer2, list_links
from compute_agent.network.metadata import Lookup
from compute_agent.network.metadata_servers import MetadataServers
from compute_agent.network.routers import Routers
from compute_agent.network.runner import Runner, missing_tools

LOG = logging.getLogger(__name__)


class Dataplane:
    """Bridges, VXLAN, taps, firewall, DHCP, metadata servers and routers of one host.

    ``apply`` converges on a state: what it names is made, what carries our names and
    is not named is removed; applying the same state again runs no changing command.
    """

    def __init__(self, state_dir: Path, *, namespace: str | None = None,
                 physical_interface_mappings: dict[str, str] | None = None,
                 local_ip: str | None = None, runner: Runner | None = None) -> None:
        missing = missing_tools()
        if missing:
            raise ConfigError(f"the network data plane needs {', '.join(missing)} "
                              "(Debian: iproute2, nftables, dnsmasq-base, procps)")
        self.runner = runner or Runner(namespace)
        self._l2 = Layer2(self.runner, dict(physical_interface_mappings or {}), local_ip)
        self._firewall = Firewall(self.runner)
        self._dhcp = Dhcp(self.runner, state_dir)
        self._routers = Routers(self.runner)
        self._metadata: MetadataServers | None = None

    def serve_metadata(self, lookup: Lookup) -> None:
        """From the next ``apply`` on, run a metadata server answering by ``lookup`` in
        each DHCP namespace serving IPv4 guests."""
        if self._metadata is not None:
            self._metadata.stop_all()
        self._metadata = MetadataServers(lookup)

    def apply(self, state: HostNetworkState) -> None:
        """Converge the host on ``state``. Raises NetworkCommandFailed, ConfigError."""
        links = list_links(self.runner)
        namespaces = set(self.runner.namespaces())
        networks = {n.id: n for n in state.networks}
        wanted: set[str] = set()
        for network in state.networks:
            wanted |= self._l2.ensure_network(network, links)
        # Filter before plugging: a tap is never on a bridge without its chains.
        self._firewall.apply([p for p in state.ports if p.network_id in networks])
        for port in state.ports:
            on = networks.get(port.network_id)
            if on is None:
                LOG.warning("port %s: network %s not in the state", port.id, port.network_id)
                continue
            tap = names.tap(port.id)
            wanted.add(tap)
            self._l2.plug(tap, names.bridge(on.id), on.mtu, links)
        self._sync_fdb(state, networks)
        dhcp = [n for n in state.networks if serves_dhcp(n)]
        for network in dhcp:
            wanted.add(self._dhcp.ensure(network, state.ports, namespaces))
        if self._metadata is not None:
            # Before the namespaces go: a listening socket would keep one alive.
            self._metadata.sync({n.id: self._dhcp.namespace(n.id) for n in dhcp
                                 if serves_metadata(n)})
        mtu = {n.id: n.mtu for n in state.networks}
        for router in state.routers:
            wanted |= self._routers.ensure(router, namespaces, mtu)
        self._dhcp.remove_unwanted({n.id for n in dhcp}, namespaces)
        self._routers.remove_unwanted({r.id for r in state.routers}, namespaces)
        self._l2.remove_unwanted(list_links(self.runner), wanted)

    def _sync_fdb(self, state: HostNetworkState, networks: dict[uuid.UUID, HostNetwork],
                  ) -> None:
        for network in networks.values():
            if network.type != "vxlan" or network.segmentation_id is None:
                continue
            entries = {(ZERO_MAC, vtep) for vtep in state.vteps.get(network.id, [])}
            entries |= {(p.mac.lower(), p.vtep) for p in state.remote_ports
                        if p.network_id == network.id}
            self._l2.sync_fdb(names.vxlan(network.segmentation_id), entries)

    def cleanup_all(self) -> None:
        """Remove everything the data plane made on this host."""
        try:
            self.apply(HostNetworkState())
        finally:
            if self._metadata is not None:
                self._metadata.stop_all()
        self._firewall.remove()
