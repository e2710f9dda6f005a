"""Attribute validators with Neutron's messages; each returns the normalised value.

A validator takes the attribute's name and the value a client sent and raises
``AttributeInvalid`` ("Invalid input for <name>. Reason: <why>.") when it is wrong.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from typing import Any

from compute_api.network.faults import (
    AttributeInvalid,
    SecurityGroupDefaultAlreadyExists,
    SecurityGroupInvalidPortValue,
)

Validator = Callable[[str, Any], Any]
MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")
MAX_INT = 2**31 - 1


def anything(name: str, value: Any) -> Any:
    return value


def string(max_len: int = 255, nullable: bool = False) -> Validator:
    def check(name: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise AttributeInvalid(name, f"'{value}' is not a valid string")
        if len(value) > max_len:
            raise AttributeInvalid(name, f"'{value[:80]}' exceeds maximum length of "
                                   f"{max_len}")
        return value
    return check


def to_boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise AttributeInvalid(name, f"'{value}' cannot be converted to boolean")


def uuid_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise AttributeInvalid(name, f"'{value}' is not a valid UUID")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise AttributeInvalid(name, f"'{value}' is not a valid UUID") from None


def nullable(inner: Validator) -> Validator:
    def check(name: str, value: Any) -> Any:
        return None if value is None else inner(name, value)
    return check


def integer(low: int, high: int, nullable: bool = False) -> Validator:
    def check(name: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        try:
            number = int(value) if not isinstance(value, bool | float) else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            raise AttributeInvalid(name, f"'{value}' is not an integer")
        if number < low:
            raise AttributeInvalid(name, f"'{number}' is too small - must be at least "
                                   f"'{low}'")
        if number > high:
            raise AttributeInvalid(name, f"'{number}' is too large - must be no larger "
                                   f"than '{high}'")
        return number
    return check


def one_of(*values: Any, nullable: bool = False) -> Validator:
    def check(name: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, str | int) or isinstance(value, bool) or value not in values:
            raise AttributeInvalid(name, f"'{value}' is not in {list(values)}")
        return value
    return check


def ip_address(name: str, value: Any) -> str:
    try:
        if not isinstance(value, str) or "/" in value:
            raise ValueError
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise AttributeInvalid(name, f"'{value}' is not a valid IP address") from None


def cidr(name: str, value: Any) -> str:
    """A network in CIDR form; host bits set are refused with the network to use."""
    if not isinstance(value, str):
        raise AttributeInvalid(name, f"'{value}' is not a valid IP subnet")
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise AttributeInvalid(name, f"'{value}' is not a valid IP subnet") from None
    if "/" not in value:
        raise AttributeInvalid(name, f"'{value}' is not a valid IP subnet")
    if ipaddress.ip_interface(value).ip != net.network_address:
        raise AttributeInvalid(name, f"'{value}' isn't a recognized IP subnet cidr, "
                               f"'{net}' is recommended")
    return str(net)


def ip_or_cidr(name: str, value: Any) -> str:
    if isinstance(value, str) and "/" in value:
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            pass
    elif isinstance(value, str):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass
    raise AttributeInvalid(name, f"'{value}' is neither a valid IP address, nor is it a "
                           "valid IP subnet")


def mac_address(name: str, value: Any) -> str:
    if not isinstance(value, str) or not MAC.match(value) or value.replace("-", ":") in (
            "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"):
        raise AttributeInvalid(name, f"'{value}' is not a valid MAC address")
    return value.replace("-", ":").lower()


def mapping(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AttributeInvalid(name, f"'{value}' is not a dictionary")
    return value


def string_list(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AttributeInvalid(name, f"'{value}' is not a list")
    return value


def _dict_list(name: str, value: Any, keys: set[str]) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise AttributeInvalid(name, f"'{value}' is not a list")
    for item in value:
        if not isinstance(item, dict):
            raise AttributeInvalid(name, f"'{item}' is not a dictionary")
        extra = sorted(set(item) - keys)
        if extra:
            raise AttributeInvalid(name, f"Unexpected keys supplied: {', '.join(extra)}")
    return value


def fixed_ips(name: str, value: Any) -> list[dict[str, Any]]:
    out = []
    for item in _dict_list(name, value, {"subnet_id", "ip_address"}):
        entry: dict[str, Any] = {}
        if "subnet_id" in item:
            entry["subnet_id"] = uuid_str(name, item["subnet_id"])
        if "ip_address" in item:
            entry["ip_address"] = ip_address(name, item["ip_address"])
        out.append(entry)
    return out


def address_pairs(name: str, value: Any) -> list[dict[str, Any]]:
    out, seen = [], set()
    for item in _dict_list(name, value, {"ip_address", "mac_address"}):
        if "ip_address" not in item:
            raise AttributeInvalid(name, "AllowedAddressPair must contain ip_address")
        pair = {"ip_address": ip_or_cidr(name, item["ip_address"])}
        if item.get("mac_address") is not None:
            pair["mac_address"] = mac_address(name, item["mac_address"])
        key = (pair["ip_address"], pair.get("mac_address"))
        if key in seen:
            raise AttributeInvalid(name, "Duplicate address detected")
        seen.add(key)
        out.append(pair)
    return out


def nameservers(name: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise AttributeInvalid(name, f"'{value}' is not a list")
    out = [ip_address(name, v) for v in value]
    if len(set(out)) != len(out):
        raise AttributeInvalid(name, f"Duplicate nameserver '{value}'")
    return out


def host_routes(name: str, value: Any) -> list[dict[str, str]]:
    out = []
    for item in _dict_list(name, value, {"destination", "nexthop"}):
        if "destination" not in item or "nexthop" not in item:
            raise AttributeInvalid(name, f"Validation of dictionary's keys failed. "
                                   f"Expected keys: {{'destination', 'nexthop'}} "
                                   f"Provided keys: {set(item)}")
        out.append({"destination": cidr(name, item["destination"]),
                    "nexthop": ip_address(name, item["nexthop"])})
    return out


def pools(name: str, value: Any) -> list[dict[str, str]]:
    out = []
    for item in _dict_list(name, value, {"start", "end"}):
        if "start" not in item or "end" not in item:
            raise AttributeInvalid(name, "Validation of dictionary's keys failed. Expected "
                                   "keys: {'end', 'start'}")
        out.append({"start": ip_address(name, item["start"]),
                    "end": ip_address(name, item["end"])})
    return out


def uuid_list(name: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise AttributeInvalid(name, f"'{value}' is not a list")
    out = [uuid_str(name, v) for v in value]
    return list(dict.fromkeys(out))


def ip_or_cidr_as_given(name: str, value: Any) -> str:
    """An address or a network (host bits allowed), kept as the client wrote it."""
    ip_or_cidr(name, value)
    return str(value)


def name_not_default(name: str, value: Any) -> str:
    """A security group's name: any but "default" (each project has exactly one)."""
    text = str(string(255)(name, value))
    if text.lower() == "default":
        raise SecurityGroupDefaultAlreadyExists()
    return text


def port_number(name: str, value: Any) -> int | None:
    """A TCP/UDP port (or ICMP type/code), 0 to 65535, as Neutron converts it."""
    if value is None:
        return None
    try:
        number = int(value) if not isinstance(value, bool | float) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not 0 <= number <= 65535:
        raise SecurityGroupInvalidPortValue(value)
    return number


def protocol(name: str, value: Any) -> str | None:
    """A rule's protocol: a name (lower-cased) or an IP protocol number, kept as text."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value if value.isdigit() else value.lower()
    raise AttributeInvalid(name, f"'{value}' is not a valid string")


def any_id(name: str, value: Any) -> str | None:
    """An id looked up as given: one that names nothing answers 404, not 400."""
    return None if value is None else str(value)
