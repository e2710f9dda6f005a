"""What operators configure reaches the scheduler: the placement query from flavor and
image, the filters by upstream's names, the weighers, and explanations that name them."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest

from common.errors import ConfigError
from common.messages import FlavorPayload, RequestSpec
from scheduler.filters import build_filters, default_filters, known_filters
from scheduler.filters.spec_ops import matches
from scheduler.query import build_query
from scheduler.select import Candidate, HostState, select_hosts
from scheduler.weighers import BuildFailureWeigher, DiskWeigher, NumInstancesWeigher

ALL = ["ComputeFilter", "AvailabilityZoneFilter", "AggregateInstanceExtraSpecsFilter",
       "AggregateMultiTenancyIsolation", "ImagePropertiesFilter"]


def _spec(extra_specs: dict[str, str] | None = None, vcpus: int = 2,
          **fields: Any) -> RequestSpec:
    flavor = FlavorPayload(flavorid="1", name="f", vcpus=vcpus, memory_mb=512, root_gb=1,
                           extra_specs=extra_specs or {})
    return RequestSpec(instance_uuid=uuid.uuid4(), project_id="p1", user_id="u",
                       flavor=flavor, **fields)


def _host(name: str, **fields: Any) -> Candidate:
    state = HostState(name, name, uuid.uuid4(), True, False,
                      {"MEMORY_MB": 1000.0, "VCPU": 8.0, "DISK_GB": 100.0},
                      {"MEMORY_MB": 1000.0, "VCPU": 8.0, "DISK_GB": 100.0})
    return Candidate(replace(state, **fields), {})


def _names(spec: RequestSpec, hosts: list[Candidate], filters: list[str] = ALL
           ) -> list[str]:
    sel = select_hosts(spec, hosts, build_filters(filters), [])
    return [c.state.host for c in sel.ordered]


def test_query_has_flavor_resources_and_disabled_hosts_forbidden() -> None:
    params = build_query(_spec()).params(limit=5, forbid=["COMPUTE_STATUS_DISABLED"])
    assert params == [("resources", "DISK_GB:1,MEMORY_MB:512,VCPU:2"),
                      ("required", "!COMPUTE_STATUS_DISABLED"), ("limit", "5")]


def test_resources_extra_specs_override_add_and_remove() -> None:
    query = build_query(_spec({"resources:CUSTOM_GPU": "2", "resources:DISK_GB": "0",
                               "resources:VCPU": "4"}))
    assert query.groups[""].resources == {"CUSTOM_GPU": 2, "MEMORY_MB": 512, "VCPU": 4}


def test_dedicated_cpu_policy_asks_for_pcpu() -> None:
    query = build_query(_spec({"hw:cpu_policy": "dedicated"}, vcpus=3))
    assert query.groups[""].resources == {"PCPU": 3, "MEMORY_MB": 512, "DISK_GB": 1}
    from_image = build_query(_spec(vcpus=2, image_properties={"hw_cpu_policy": "dedicated"}))
    assert "VCPU" not in from_image.groups[""].resources
    assert from_image.groups[""].resources["PCPU"] == 2


def test_traits_from_flavor_and_image() -> None:
    spec = _spec({"trait:HW_CPU_X86_AVX2": "required", "trait:CUSTOM_SLOW": "forbidden"},
                 image_properties={"trait:CUSTOM_LICENSED": "required",
                                   "trait:CUSTOM_IGNORED": "forbidden",
                                   "hw_disk_bus": "virtio"})
    query = build_query(spec)
    assert query.groups[""].required == {"HW_CPU_X86_AVX2", "CUSTOM_LICENSED"}
    assert query.groups[""].forbidden == {"CUSTOM_SLOW"}
    assert ("required", "CUSTOM_LICENSED,HW_CPU_X86_AVX2,!CUSTOM_SLOW") in query.params()


def test_granular_groups_and_group_policy() -> None:
    spec = _spec({"resources1:CUSTOM_VF": "1", "trait1:CUSTOM_NET_A": "required",
                  "resources2:CUSTOM_VF": "1", "trait2:CUSTOM_NET_B": "required",
                  "group_policy": "isolate", "trait3:CUSTOM_NOTHING": "required"})
    params = build_query(spec).params()
    assert ("resources1", "CUSTOM_VF:1") in params
    assert ("required1", "CUSTOM_NET_A") in params
    assert ("resources2", "CUSTOM_VF:1") in params
    assert ("group_policy", "isolate") in params
    # A numbered group without resources is not sent (placement refuses it).
    assert not any(key.endswith("3") for key, _ in params)
    assert build_query(spec).resources()["CUSTOM_VF"] == 2


def test_group_policy_defaults_to_none_with_several_groups() -> None:
    spec = _spec({"resources1:CUSTOM_A": "1", "resources2:CUSTOM_B": "1"})
    assert ("group_policy", "none") in build_query(spec).params()
    assert "group_policy" not in dict(build_query(_spec()).params())


def test_zone_aggregates_become_member_of() -> None:
    aggs = [uuid.UUID(int=2), uuid.UUID(int=1)]
    query = build_query(_spec(availability_zone="az1"), aggs)
    assert ("member_of", f"in:{aggs[1]},{aggs[0]}") in query.params()
    assert "availability zone az1" in query.describe()
    assert query.is_plain() is False and build_query(_spec()).is_plain() is True


def test_availability_zone_filter_uses_the_host_zone() -> None:
    hosts = [_host("a", zone="az1"), _host("b"), _host("c", zone="az2")]
    assert _names(_spec(availability_zone="az1"), hosts) == ["a"]
    assert _names(_spec(availability_zone="nova"), hosts) == ["b"]
    assert _names(_spec(), hosts) == ["a", "b", "c"]
    # Records of older releases kept "zone:host".
    assert _names(_spec(availability_zone="az2:c"), hosts) == ["c"]


def test_aggregate_extra_specs_scoped_and_unscoped() -> None:
    hosts = [_host("fast", aggregates=({"ssd": "true", "cores": "16"},)),
             _host("slow", aggregates=({"ssd": "false"},)), _host("none")]
    scoped = _spec({"aggregate_instance_extra_specs:ssd": "true", "hw:cpu_policy": "shared"})
    assert _names(scoped, hosts) == ["fast"]
    assert _names(_spec({"ssd": "true"}), hosts) == ["fast"]
    assert _names(_spec({"cores": ">= 8"}), hosts) == ["fast"]
    assert _names(_spec({"ssd": "<or> false <or> maybe"}), hosts) == ["slow"]
    # Other namespaces and group_policy are not for aggregates.
    assert _names(_spec({"hw:cpu_policy": "shared", "group_policy": "none"}), hosts) == [
        "fast", "none", "slow"]


def test_aggregate_values_are_comma_separated_lists() -> None:
    hosts = [_host("a", aggregates=({"gpu": "a100, h100"},)), _host("b")]
    assert _names(_spec({"gpu": "h100"}), hosts) == ["a"]


def test_tenant_isolation() -> None:
    hosts = [_host("mine", aggregates=({"filter_tenant_id": "p1,p2"},)),
             _host("theirs", aggregates=({"filter_tenant_id_2": "p9"},)),
             _host("open", aggregates=({"ssd": "true"},))]
    assert _names(_spec(), hosts) == ["mine", "open"]


def test_image_properties_filter() -> None:
    hosts = [_host("x86", traits=frozenset({"HW_ARCH_X86_64"}), hypervisor_type="QEMU"),
             _host("arm", traits=frozenset({"HW_ARCH_AARCH64"}), hypervisor_type="QEMU"),
             _host("lxc", hypervisor_type="lxc"),
             _host("kvm", traits=frozenset({"HW_ARCH_X86_64"}), hypervisor_type="kvm")]
    arm = _spec(image_properties={"hw_architecture": "arm64"})
    assert _names(arm, hosts) == ["arm", "lxc"]  # lxc does not report its architecture
    assert _names(_spec(image_properties={"img_hv_type": "qemu"}), hosts) == [
        "arm", "kvm", "x86"]
    assert _names(_spec(image_properties={"hw_vm_mode": "exe"}), hosts) == ["lxc"]
    assert _names(_spec(image_properties={"architecture": "x86_64",
                                          "hypervisor_type": "kvm"}), hosts) == ["kvm", "x86"]
    assert _names(_spec(image_properties={"img_hv_type": "lxc"}), hosts) == ["lxc"]


def test_explanation_names_filters_and_what_was_asked() -> None:
    hosts = [_host("a", aggregates=({"ssd": "false"},)), _host("b"),
             _host("c", up=False)]
    sel = select_hosts(_spec({"aggregate_instance_extra_specs:ssd": "true"}), hosts,
                       build_filters(ALL), [])
    assert sel.ordered == []
    assert sel.explain() == ("1 host removed by ComputeFilter (compute service down or "
                             "disabled), 2 hosts removed by "
                             "AggregateInstanceExtraSpecsFilter (ssd=true)")


def test_filters_are_selected_by_upstream_names() -> None:
    assert [f.name for f in build_filters(["AvailabilityZoneFilter", "ComputeFilter"])] == [
        "AvailabilityZoneFilter", "ComputeFilter"]
    assert "AggregateInstanceExtraSpecsFilter" in known_filters()
    assert "AggregateInstanceExtraSpecsFilter" not in {f.name for f in default_filters()}
    with pytest.raises(ConfigError, match="NoSuchFilter"):
        build_filters(["ComputeFilter", "NoSuchFilter"])
    # A filter left out is not applied.
    hosts = [_host("down", up=False)]
    assert _names(_spec(), hosts, ["RetryFilter"]) == ["down"]


def test_disk_instances_and_build_failure_weighers() -> None:
    a = _host("a", num_instances=5, failed_builds=0)
    b = _host("b", num_instances=1, failed_builds=2)
    disk = replace(a.state, free={**a.state.free, "DISK_GB": 10.0})
    roomy = Candidate(replace(b.state, host="c", failed_builds=0), {})
    spec = _spec()

    def order(weighers: list[Any], cands: list[Candidate]) -> list[str]:
        return [c.state.host for c in select_hosts(spec, cands, [], weighers).ordered]

    assert order([DiskWeigher(1.0)], [Candidate(disk, {}), roomy]) == ["c", "a"]
    assert order([NumInstancesWeigher(1.0)], [a, b]) == ["a", "b"]  # packs
    assert order([NumInstancesWeigher(-1.0)], [a, b]) == ["b", "a"]  # spreads
    assert order([BuildFailureWeigher(), NumInstancesWeigher(-1.0)], [a, b]) == ["a", "b"]


@pytest.mark.parametrize(("value", "expr", "expected"), [
    ("true", "true", True), ("True", "true", False), ("16", "= 8", True),
    ("4", "= 8", False), ("8", "== 8.0", True), ("abc", "s== abc", True),
    ("abc", "s< abd", True), ("x86 avx2 sse", "<all-in> avx2 sse", True),
    ("x86", "<in> avx", False), ("b", "<or> a <or> b", True), ("c", "<or> a <or> b", False),
    ("x", "= 8", False), (None, "= 8", False),
])
def test_extra_spec_operators(value: str | None, expr: str, expected: bool) -> None:
    assert matches(value, expr) is expected
