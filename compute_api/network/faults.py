"""The network API's errors: each carries the type name Neutron gives it.

They subclass the shared classes by meaning, so the status follows from the class; the
error body (``{"NeutronError": {"type", "message", "detail"}}``) names ``neutron_type``.
"""

from __future__ import annotations

from typing import Any

from common.errors import BadRequest, Conflict, ControlPlaneError, NotFound, QuotaExceeded


def neutron_type(exc: ControlPlaneError) -> str:
    """The NeutronError type of ``exc`` (its own, else the one of its kind)."""
    own = getattr(exc, "neutron_type", None)
    if isinstance(own, str):
        return own
    if isinstance(exc, BadRequest):
        return "HTTPBadRequest"
    if isinstance(exc, NotFound):
        return "HTTPNotFound"
    if isinstance(exc, Conflict):
        return "HTTPConflict"
    return type(exc).__name__


class InvalidInput(BadRequest):
    neutron_type = "InvalidInput"

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(f"Invalid input for operation: {message}.", **kwargs)


class AttributeInvalid(BadRequest):
    """A body attribute that fails its validator (Neutron's HTTPBadRequest)."""

    neutron_type = "HTTPBadRequest"

    def __init__(self, attribute: str, reason: str) -> None:
        super().__init__(f"Invalid input for {attribute}. Reason: {reason}.")


class NetworkNotFound(NotFound):
    neutron_type = "NetworkNotFound"

    def __init__(self, net_id: str) -> None:
        super().__init__(f"Network {net_id} could not be found.")


class SubnetNotFound(NotFound):
    neutron_type = "SubnetNotFound"

    def __init__(self, subnet_id: str) -> None:
        super().__init__(f"Subnet {subnet_id} could not be found.")


class PortNotFound(NotFound):
    neutron_type = "PortNotFound"

    def __init__(self, port_id: str) -> None:
        super().__init__(f"Port {port_id} could not be found.")


class SecurityGroupNotFound(NotFound):
    neutron_type = "SecurityGroupNotFound"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"Security group {group_id} does not exist")


class SecurityGroupRuleNotFound(NotFound):
    neutron_type = "SecurityGroupRuleNotFound"

    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Security group rule {rule_id} does not exist")


class ExtensionNotFound(NotFound):
    neutron_type = "ExtensionNotFound"

    def __init__(self, alias: str) -> None:
        super().__init__(f"Extension with alias {alias} does not exist")


class NetworkInUse(Conflict):
    neutron_type = "NetworkInUse"

    def __init__(self, net_id: str) -> None:
        super().__init__(f"Unable to complete operation on network {net_id}. There are one "
                         "or more ports still in use on the network.")


class SubnetInUse(Conflict):
    neutron_type = "SubnetInUse"

    def __init__(self, subnet_id: str) -> None:
        super().__init__(f"Unable to complete operation on subnet {subnet_id}: One or more "
                         "ports have an IP allocation from this subnet.")


class IpAddressGenerationFailure(Conflict):
    neutron_type = "IpAddressGenerationFailure"

    def __init__(self, net_id: str) -> None:
        super().__init__(f"No more IP addresses available on network {net_id}.")


class IpAddressAlreadyAllocated(Conflict):
    neutron_type = "IpAddressAlreadyAllocated"

    def __init__(self, ip: str, subnet_id: str) -> None:
        super().__init__(f"IP address {ip} already allocated in subnet {subnet_id}")


class MacAddressInUse(Conflict):
    neutron_type = "MacAddressInUse"

    def __init__(self, mac: str, net_id: str) -> None:
        super().__init__(f"Unable to complete operation for network {net_id}. The mac "
                         f"address {mac} is in use.")


class SegmentationIdInUse(Conflict):
    neutron_type = "VlanIdInUse"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class NoNetworkAvailable(Conflict):
    neutron_type = "NoNetworkAvailable"

    def __init__(self) -> None:
        super().__init__("Unable to create the network. No tenant network is available "
                         "for allocation.")


class SecurityGroupInUse(Conflict):
    neutron_type = "SecurityGroupInUse"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"Security Group {group_id} in use.")


class SecurityGroupCannotRemoveDefault(Conflict):
    neutron_type = "SecurityGroupCannotRemoveDefault"

    def __init__(self) -> None:
        super().__init__("Insufficient rights for removing default security group.")


class SecurityGroupRuleExists(Conflict):
    neutron_type = "SecurityGroupRuleExists"

    def __init__(self, rule_id: str) -> None:
        super().__init__(f"Security group rule already exists. Rule id is {rule_id}.")


class SecurityGroupDefaultAlreadyExists(Conflict):
    neutron_type = "SecurityGroupDefaultAlreadyExists"

    def __init__(self) -> None:
        super().__init__("Default security group already exists.")


class SecurityGroupInvalidPortValue(BadRequest):
    neutron_type = "SecurityGroupInvalidPortValue"

    def __init__(self, port: Any) -> None:
        super().__init__(f"Invalid value for port {port}.")


class OverQuota(QuotaExceeded):
    neutron_type = "OverQuota"

    def __init__(self, resource: str) -> None:
        super().__init__(f"Quota exceeded for resources: ['{resource}'].")


class OverlappingCidr(BadRequest):
    neutron_type = "InvalidInput"

    def __init__(self, cidr: str, net_id: str) -> None:
        super().__init__(f"Invalid input for operation: Requested subnet with cidr: {cidr} "
                         f"for network: {net_id} overlaps with another subnet.")


class NeutronBadRequest(BadRequest):
    """Neutron's generic BadRequest: ``Bad <resource> request: <message>.``"""

    neutron_type = "BadRequest"

    def __init__(self, resource: str, message: str) -> None:
        super().__init__(f"Bad {resource} request: {message}.")


class RouterNotFound(NotFound):
    neutron_type = "RouterNotFound"

    def __init__(self, router_id: str) -> None:
        super().__init__(f"Router {router_id} could not be found")


class FloatingIPNotFound(NotFound):
    neutron_type = "FloatingIPNotFound"

    def __init__(self, fip_id: str) -> None:
        super().__init__(f"Floating IP {fip_id} could not be found")


class RouterInUse(Conflict):
    neutron_type = "RouterInUse"

    def __init__(self, router_id: str) -> None:
        super().__init__(f"Router {router_id} still has ports")


class RouterInterfaceNotFound(NotFound):
    neutron_type = "RouterInterfaceNotFound"

    def __init__(self, router_id: str, port_id: str) -> None:
        super().__init__(f"Router {router_id} does not have an interface with id {port_id}")


class RouterInterfaceNotFoundForSubnet(NotFound):
    neutron_type = "RouterInterfaceNotFoundForSubnet"

    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(f"Router {router_id} has no interface on subnet {subnet_id}")


class RouterInterfaceInUseByFloatingIP(Conflict):
    neutron_type = "RouterInterfaceInUseByFloatingIP"

    def __init__(self, router_id: str, subnet_id: str) -> None:
        super().__init__(f"Router interface for subnet {subnet_id} on router {router_id} "
                         "cannot be deleted, as it is required by one or more floating IPs.")


class RouterExternalGatewayInUseByFloatingIp(Conflict):
    neutron_type = "RouterExternalGatewayInUseByFloatingIp"

    def __init__(self, router_id: str, net_id: str) -> None:
        super().__init__(f"Gateway cannot be updated for router {router_id}, since a "
                         f"gateway to external network {net_id} is required by one or more "
                         "floating IPs.")


class L3PortInUse(Conflict):
    neutron_type = "L3PortInUse"

    def __init__(self, port_id: str, device_owner: str) -> None:
        super().__init__(f"Port {port_id} has owner {device_owner} and therefore cannot be "
                         "deleted directly via the port API.")


class ExternalGatewayForFloatingIPNotFound(NotFound):
    neutron_type = "ExternalGatewayForFloatingIPNotFound"

    def __init__(self, net_id: str, subnet_id: str, port_id: str) -> None:
        super().__init__(f"External network {net_id} is not reachable from subnet "
                         f"{subnet_id}.  Therefore, cannot associate Port {port_id} with a "
                         "Floating IP.")


class FloatingIPPortAlreadyAssociated(Conflict):
    neutron_type = "FloatingIPPortAlreadyAssociated"

    def __init__(self, address: str, fip_id: str, port_id: str, fixed_ip: str,
                 net_id: str) -> None:
        super().__init__(f"Cannot associate floating IP {address} ({fip_id}) with port "
                         f"{port_id} using fixed IP {fixed_ip}, as that fixed IP already has "
                         f"a floating IP on external network {net_id}.")


class SubnetMismatchForPort(BadRequest):
    neutron_type = "SubnetMismatchForPort"

    def __init__(self, port_id: str, subnet_id: str) -> None:
        super().__init__(f"Port {port_id} holds no address of the requested subnet "
                         f"{subnet_id}")


class AgentNotFound(NotFound):
    neutron_type = "AgentNotFound"

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"Agent {agent_id} could not be found")
