"""The placement query of a request: resources, traits and aggregates per request group.

Built from the flavor (its resources, ``resources[N]:`` / ``trait[N]:`` extra specs,
``group_policy``, ``hw:cpu_policy``), the image's ``trait:`` properties and the requested
availability zone's aggregates, the way upstream's scheduler asks placement.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from common.messages import RequestSpec

_RESOURCES = re.compile(r"^resources([a-zA-Z0-9_-]{0,64}):(.+)$")
_TRAIT = re.compile(r"^trait([a-zA-Z0-9_-]{0,64}):(.+)$")


@dataclass
class RequestGroup:
    resources: dict[str, int] = field(default_factory=dict)
    required: set[str] = field(default_factory=set)
    forbidden: set[str] = field(default_factory=set)


@dataclass
class PlacementQuery:
    """One GET /allocation_candidates: the unsuffixed group is ``groups[""]``."""

    groups: dict[str, RequestGroup]
    group_policy: str | None = None
    # Each item is one member_of value of the unsuffixed group (``in:a,b``).
    member_of: list[str] = field(default_factory=list)
    zone: str | None = None

    def resources(self) -> dict[str, int]:
        """What the request consumes in all, per resource class."""
        total: dict[str, int] = {}
        for group in self.groups.values():
            for rc, amount in group.resources.items():
                total[rc] = total.get(rc, 0) + amount
        return total

    def is_plain(self) -> bool:
        """True when nothing but the unsuffixed group's resources narrows the answer."""
        unsuffixed = self.groups.get("", RequestGroup())
        return (len(self.groups) <= 1 and not unsuffixed.required
                and not unsuffixed.forbidden and not self.member_of)

    def params(self, limit: int | None = None, in_tree: uuid.UUID | None = None,
               forbid: Iterable[str] = ()) -> list[tuple[str, str]]:
        """The query string; ``forbid`` traits are added to the unsuffixed group."""
        out: list[tuple[str, str]] = []
        for suffix, group in sorted(self.groups.items()):
            if suffix and not group.resources:
                continue  # placement refuses a numbered group without resources
            required = sorted(group.required) + [f"!{t}" for t in sorted(group.forbidden)]
            if suffix == "":
                required += [f"!{t}" for t in forbid if t not in group.required]
            if group.resources:
                out.append((f"resources{suffix}", ",".join(
                    f"{rc}:{n}" for rc, n in sorted(group.resources.items()))))
            if required:
                out.append((f"required{suffix}", ",".join(required)))
        out += [("member_of", value) for value in self.member_of]
        numbered = [s for s, g in self.groups.items() if s and g.resources]
        if len(numbered) > 1:
            out.append(("group_policy", self.group_policy or "none"))
        if limit is not None:
            out.append(("limit", str(limit)))
        if in_tree is not None:
            out.append(("in_tree", str(in_tree)))
        return out

    def describe(self) -> str:
        """The constraints beyond plain resources, for an explanation."""
        parts = []
        if self.zone:
            parts.append(f"availability zone {self.zone}")
        for suffix, group in sorted(self.groups.items()):
            where = f" (group {suffix})" if suffix else ""
            if group.required:
                parts.append(f"traits {', '.join(sorted(group.required))}{where}")
            if group.forbidden:
                parts.append(f"without {', '.join(sorted(group.forbidden))}{where}")
            if suffix and group.resources:
                parts.append(f"resources{suffix} " + ",".join(
                    f"{rc}:{n}" for rc, n in sorted(group.resources.items())))
        return "; ".join(parts)


def build_query(spec: RequestSpec, zone_aggregates: list[uuid.UUID] | None = None
                ) -> PlacementQuery:
    """The placement query for ``spec``; ``zone_aggregates`` are the requested zone's."""
    flavor = spec.flavor
    groups: dict[str, RequestGroup] = {"": RequestGroup(resources=flavor.resources())}
    unsuffixed = groups[""]
    if _dedicated(flavor.extra_specs, spec.image_properties):
        unsuffixed.resources.pop("VCPU", None)
        unsuffixed.resources["PCPU"] = flavor.vcpus
    for key, value in sorted(flavor.extra_specs.items()):
        _apply(groups, key, value, image=False)
    for key, value in sorted(spec.image_properties.items()):
        _apply(groups, key, value, image=True)
    for group in groups.values():
        for rc in [rc for rc, n in group.resources.items() if n <= 0]:
            del group.resources[rc]
    member_of = ["in:" + ",".join(str(a) for a in sorted(zone_aggregates))] \
        if zone_aggregates else []
    policy = flavor.extra_specs.get("group_policy")
    return PlacementQuery(groups=groups, group_policy=policy, member_of=member_of,
                          zone=spec.availability_zone)


def _dedicated(extra_specs: Mapping[str, str], image: Mapping[str, str]) -> bool:
    policy = extra_specs.get("hw:cpu_policy") or image.get("hw_cpu_policy")
    return policy == "dedicated"


def _apply(groups: dict[str, RequestGroup], key: str, value: str, image: bool) -> None:
    """One ``resources[N]:CLASS=N`` or ``trait[N]:NAME=required|forbidden`` entry."""
    resources = None if image else _RESOURCES.match(key)
    if resources is not None:
        suffix, rc = resources.groups()
        try:
            amount = int(value)
        except ValueError:
            return  # validated at the API since 2.86; older flavors may carry junk
        groups.setdefault(suffix, RequestGroup()).resources[rc] = amount
        return
    trait = _TRAIT.match(key)
    if trait is None:
        return
    suffix, name = trait.groups()
    if image and suffix:
        return  # images carry unsuffixed traits only, as upstream
    group = groups.setdefault(suffix, RequestGroup())
    if value == "required":
        group.required.add(name)
    elif value == "forbidden" and not image:
        group.forbidden.add(name)
