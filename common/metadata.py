"""A guest's metadata documents, as the metadata service and the config drive show them.

Pure rendering from an ``InstancePayload`` (with its ``metadata_facts``): the conductor
gathers the facts from the database, the compute agent renders them, for the HTTP
metadata service (``compute_agent/network/metadata.py``) and for the config drive
(``compute_agent/virt/libvirt/configdrive.py``), so both say the same thing.

Two trees, with the paths and versions cloud-init and other guest tools know:
``/openstack/<version>/...`` (meta_data.json, user_data, network_data.json, vendor data)
and the EC2-compatible ``/<version>/meta-data/...`` and ``/<version>/user-data``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from common.errors import NotFound
from common.messages import InstancePayload, MetadataFacts, MetadataFixedIp, MetadataPort

TEXT = "text/plain"
JSON = "application/json"

# The dated versions of the OpenStack tree, oldest first; "latest" is the newest.
OPENSTACK_VERSIONS = ("2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15",
                      "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27",
                      "2020-10-14", "2025-04-04")
# The EC2-compatible versions, oldest first.
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
                "2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04")
LATEST = "latest"

META_DATA = "meta_data.json"
USER_DATA = "user_data"
NETWORK_DATA = "network_data.json"
VENDOR_DATA = "vendor_data.json"
VENDOR_DATA2 = "vendor_data2.json"

# The OpenStack version each document (or meta_data.json key) first appeared in.
_OPENSTACK_SINCE = {VENDOR_DATA: "2013-10-17", NETWORK_DATA: "2015-10-15",
                    VENDOR_DATA2: "2016-10-06", "random_seed": "2013-04-04",
                    "project_id": "2015-10-15", "devices": "2016-06-30",
                    "dedicated_cpus": "2020-10-14"}
# The EC2 version each meta-data key first appeared in (absent: in every version).
_EC2_SINCE = {"local-hostname": "2007-01-19", "public-hostname": "2007-01-19",
              "public-ipv4": "2007-01-19", "instance-type": "2007-08-29",
              "block-device-mapping": "2007-12-15", "placement": "2008-02-01",
              "instance-action": "2008-09-01"}
# VIF types a guest is told as they are; any other link is a "phy".
_LINK_TYPES = frozenset({"bridge", "ovs", "tap", "vhostuser", "vif"})
# An EC2 listing shows a dict carrying this key by its value (``public-keys/``: "0=name").
_LISTED_AS = "_name"
ROOT_DEVICE = "/dev/vda"


@dataclass(frozen=True)
class Document:
    """One answer of the metadata tree: its body and media type."""

    body: bytes
    content_type: str = TEXT


def _facts(instance: InstancePayload) -> MetadataFacts:
    return instance.metadata_facts or MetadataFacts(instance_id=0)


def _since(table: Mapping[str, str], key: str, version: str,
           versions: tuple[str, ...]) -> bool:
    first = table.get(key)
    return first is None or versions.index(version) >= versions.index(first)


def _openstack_version(version: str) -> str:
    wanted = OPENSTACK_VERSIONS[-1] if version == LATEST else version
    if wanted not in OPENSTACK_VERSIONS:
        raise NotFound(f"no metadata version {version}")
    return wanted


def user_data(instance: InstancePayload) -> bytes | None:
    """The user data as the guest gets it (the API keeps it base64-encoded)."""
    if instance.user_data is None:
        return None
    try:
        return base64.b64decode(instance.user_data, validate=True)
    except (binascii.Error, ValueError):
        return instance.user_data.encode()


def hostname(instance: InstancePayload) -> str:
    return instance.hostname or instance.display_name


def meta_data(instance: InstancePayload, version: str = LATEST) -> dict[str, Any]:
    """``openstack/<version>/meta_data.json``."""
    version = _openstack_version(version)
    out: dict[str, Any] = {
        "uuid": str(instance.uuid), "meta": dict(instance.metadata),
        "hostname": hostname(instance), "name": instance.display_name,
        "launch_index": instance.launch_index,
        "availability_zone": instance.availability_zone or "nova",
    }
    if instance.key_name and instance.key_data:
        out["public_keys"] = {instance.key_name: instance.key_data}
        out["keys"] = [{"name": instance.key_name, "type": "ssh",
                        "data": instance.key_data}]
    extra: dict[str, Callable[[], Any]] = {
        "random_seed": lambda: base64.b64encode(os.urandom(512)).decode(),
        "project_id": lambda: instance.project_id,
        "devices": list, "dedicated_cpus": list}
    for key, value in extra.items():
        if _since(_OPENSTACK_SINCE, key, version, OPENSTACK_VERSIONS):
            out[key] = value()
    return out


def _netmask(fixed: MetadataFixedIp) -> str:
    return str(ipaddress.ip_network(fixed.subnet.cidr, strict=False).netmask)


def _routes(fixed: MetadataFixedIp) -> list[dict[str, str]]:
    subnet = fixed.subnet
    routes = []
    if subnet.gateway_ip:
        anywhere = "0.0.0.0" if subnet.ip_version == 4 else "::"
        routes.append({"network": anywhere, "netmask": anywhere,
                       "gateway": subnet.gateway_ip})
    for route in subnet.host_routes:
        dest = ipaddress.ip_network(route["destination"], strict=False)
        routes.append({"network": str(dest.network_address), "netmask": str(dest.netmask),
                       "gateway": route["nexthop"]})
    return routes


def _dns(fixed: MetadataFixedIp) -> list[dict[str, str]]:
    return [{"type": "dns", "address": a} for a in fixed.subnet.dns_nameservers]


def _link(port: MetadataPort) -> dict[str, Any]:
    return {"id": f"tap{str(port.id)[:11]}", "vif_id": str(port.id),
            "type": port.vif_type if port.vif_type in _LINK_TYPES else "phy",
            "mtu": port.mtu, "ethernet_mac_address": port.mac_address}


def _network(index: int, link: str, port: MetadataPort,
             fixed: MetadataFixedIp) -> dict[str, Any]:
    kind = f"ipv{fixed.subnet.ip_version}"
    if fixed.subnet.ip_version == 6 and fixed.subnet.ipv6_address_mode:
        kind = f"{kind}_{fixed.subnet.ipv6_address_mode}"
    return {"id": f"network{index}", "type": kind, "link": link,
            "ip_address": fixed.ip_address, "netmask": _netmask(fixed),
            "routes": _routes(fixed), "network_id": str(port.network_id),
            "services": _dns(fixed)}


def network_data(instance: InstancePayload) -> dict[str, Any]:
    """``openstack/<version>/network_data.json``: a link per port with addresses, a
    network per fixed address (static), the DNS servers of their subnets."""
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    services: list[dict[str, str]] = []
    for port in _facts(instance).ports:
        if not port.fixed_ips:
            continue
        link = _link(port)
        links.append(link)
        for fixed in port.fixed_ips:
            networks.append(_network(len(networks), link["id"], port, fixed))
            services.extend(s for s in _dns(fixed) if s not in services)
    return {"links": links, "networks": networks, "services": services}


def _openstack_listing(instance: InstancePayload, version: str) -> list[str]:
    names = [META_DATA] + ([USER_DATA] if instance.user_data is not None else [])
    names += [n for n in (VENDOR_DATA, NETWORK_DATA, VENDOR_DATA2)
              if _since(_OPENSTACK_SINCE, n, version, OPENSTACK_VERSIONS)]
    return names


def _json(value: Any) -> Document:
    return Document(json.dumps(value).encode(), JSON)


def _openstack(instance: InstancePayload, tokens: list[str]) -> Document:
    if not tokens:
        return _listing([*OPENSTACK_VERSIONS, LATEST])
    version = _openstack_version(tokens[0])
    name = "/".join(tokens[1:])
    if not name:
        return _listing(_openstack_listing(instance, version))
    if name not in _openstack_listing(instance, version):
        raise NotFound(f"no metadata at openstack/{'/'.join(tokens)}")
    if name == USER_DATA:
        return Document(user_data(instance) or b"")
    if name == META_DATA:
        return _json(meta_data(instance, version))
    if name == NETWORK_DATA:
        return _json(network_data(instance))
    return _json({})  # vendor data: none configured


def openstack_files(instance: InstancePayload) -> dict[str, bytes]:
    """The files of ``openstack/latest`` (the config drive's), by name."""
    return {name: _openstack(instance, [LATEST, name]).body
            for name in _openstack_listing(instance, OPENSTACK_VERSIONS[-1])}


def _addresses(instance: InstancePayload) -> tuple[list[str], list[str]]:
    """The server's fixed IPv4 addresses and its floating ones."""
    fixed, floating = [], []
    for port in _facts(instance).ports:
        fixed += [f.ip_address for f in port.fixed_ips if f.subnet.ip_version == 4]
        floating += port.floating_ips
    return fixed, floating


def _image_id(instance: InstancePayload) -> str:
    """An EC2-style image id: the first 32 bits of the image's uuid in hex."""
    digits = (instance.image_ref or "").replace("-", "")[:8]
    try:
        return f"ami-{int(digits, 16):08x}"
    except ValueError:
        return "ami-00000000"


def ec2_meta_data(instance: InstancePayload, version: str,
                  address: str | None = None) -> dict[str, Any]:
    """The EC2-compatible tree of one version: ``meta-data`` and ``user-data``."""
    wanted = EC2_VERSIONS[-1] if version == LATEST else version
    if wanted not in EC2_VERSIONS:
        raise NotFound(f"no metadata version {version}")
    facts = _facts(instance)
    fixed, floating = _addresses(instance)
    name = hostname(instance)
    meta: dict[str, Any] = {
        "ami-id": _image_id(instance), "ami-launch-index": instance.launch_index,
        "instance-id": f"i-{facts.instance_id:08x}", "hostname": name,
        "local-ipv4": fixed[0] if fixed else (address or ""),
        "reservation-id": facts.reservation_id,
        "security-groups": list(facts.security_groups),
        "local-hostname": name, "public-hostname": name,
        "public-ipv4": floating[0] if floating else "",
        "instance-type": instance.flavor.name,
        "block-device-mapping": {"ami": ROOT_DEVICE.rpartition("/")[2],
                                 "root": ROOT_DEVICE},
        "placement": {"availability-zone": instance.availability_zone or "nova"},
        "instance-action": "none",
    }
    meta = {k: v for k, v in meta.items() if _since(_EC2_SINCE, k, wanted, EC2_VERSIONS)}
    if instance.key_name and instance.key_data:
        meta["public-keys"] = {"0": {_LISTED_AS: f"0={instance.key_name}",
                                     "openssh-key": instance.key_data}}
    tree: dict[str, Any] = {"meta-data": meta}
    data = user_data(instance)
    if data is not None:
        tree["user-data"] = data
    return tree


def _listing(names: list[str]) -> Document:
    return Document("\n".join(names).encode())


def _show(node: Any) -> Document:
    """A node of the EC2 tree as text: a dict lists its keys (sub-trees end in "/")."""
    if isinstance(node, dict):
        names = []
        for key in sorted(node):
            if key == _LISTED_AS:
                continue
            child = node[key]
            if isinstance(child, dict):
                names.append(child.get(_LISTED_AS, f"{key}/"))
            else:
                names.append(key)
        return _listing(names)
    if isinstance(node, list):
        return _listing([str(v) for v in node])
    if isinstance(node, bytes):
        return Document(node)
    return Document(str(node).encode())


def _ec2(instance: InstancePayload, tokens: list[str], address: str | None) -> Document:
    if not tokens:
        return _listing([*EC2_VERSIONS, LATEST])
    node: Any = ec2_meta_data(instance, tokens[0], address)
    for token in tokens[1:]:
        if token == _LISTED_AS or not isinstance(node, dict) or token not in node:
            raise NotFound(f"no metadata at {'/'.join(tokens)}")
        node = node[token]
    return _show(node)


def lookup(instance: InstancePayload, path: str, address: str | None = None) -> Document:
    """The document at ``path`` of the instance's metadata tree; ``address``: the
    address the request came from. Raises NotFound for a path the tree lacks."""
    tokens = [t for t in posixpath.normpath("/" + path).split("/") if t]
    if tokens[:1] == ["openstack"]:
        return _openstack(instance, tokens[1:])
    if tokens[:1] == ["ec2"]:
        tokens = tokens[1:]
    return _ec2(instance, tokens, address)
