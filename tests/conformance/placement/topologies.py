"""The provider trees of upstream's larger gabbi fixtures, built through the API.

Each function creates one tree and returns the environment variables the YAML files
use to name its parts.
"""

from __future__ import annotations

import uuid

from tests.conformance.placement.seeder import Seeder

Env = dict[str, str]


def _new() -> str:
    return str(uuid.uuid4())


def shared_storage(s: Seeder) -> Env:
    """cn1, cn2 and two sharing DISK_GB providers in one aggregate; NUMA nodes with PFs."""
    agg = _new()
    env = {"AGG_UUID": agg}
    for name in ("cn1", "cn2", "ss", "ss2"):
        env[f"{name.upper()}_UUID"] = s.provider(name, agg)
    for cn in (1, 2):
        for numa in (1, 2):
            node = s.provider(f"numa{cn}_{numa}", parent=env[f"CN{cn}_UUID"])
            env[f"NUMA{cn}_{numa}_UUID"] = node
            env[f"PF{cn}_{numa}_UUID"] = s.provider(f"pf{cn}_{numa}", parent=node)
    for cn in ("CN1_UUID", "CN2_UUID"):
        s.inventory(env[cn], "VCPU", 24, allocation_ratio=16.0)
        s.inventory(env[cn], "MEMORY_MB", 128 * 1024, allocation_ratio=1.5)
    s.traits(env["CN1_UUID"], "HW_CPU_X86_SSE", "HW_CPU_X86_SSE2")
    s.inventory(env["CN2_UUID"], "DISK_GB", 2000, reserved=100, allocation_ratio=1.0)
    for shared in ("SS_UUID", "SS2_UUID"):
        s.inventory(env[shared], "DISK_GB", 2000, reserved=100, allocation_ratio=1.0)
        s.traits(env[shared], "MISC_SHARES_VIA_AGGREGATE")
    for pf in ("PF1_1_UUID", "PF1_2_UUID", "PF2_1_UUID", "PF2_2_UUID"):
        s.inventory(env[pf], "SRIOV_NET_VF", 8, allocation_ratio=1.0)
    return env


def numa_aggregate(s: Seeder) -> Env:
    """Two resourceless compute nodes with CPU-providing NUMA nodes, sharing storage."""
    env = {"AGGA_UUID": _new(), "AGGB_UUID": _new(), "AGGC_UUID": _new()}
    agg_a, agg_b, agg_c = env["AGGA_UUID"], env["AGGB_UUID"], env["AGGC_UUID"]
    env["CN1_UUID"] = s.provider("cn1", agg_a)
    env["CN2_UUID"] = s.provider("cn2", agg_a, agg_b)
    env["SS1_UUID"] = s.provider("ss1", agg_a)
    env["SS2_UUID"] = s.provider("ss2", agg_c)
    env["NUMA1_1_UUID"] = s.provider("numa1_1", agg_c, parent=env["CN1_UUID"])
    env["NUMA1_2_UUID"] = s.provider("numa1_2", parent=env["CN1_UUID"])
    env["NUMA2_1_UUID"] = s.provider("numa2_1", parent=env["CN2_UUID"])
    env["NUMA2_2_UUID"] = s.provider("numa2_2", parent=env["CN2_UUID"])
    for numa in ("NUMA1_1_UUID", "NUMA1_2_UUID", "NUMA2_1_UUID", "NUMA2_2_UUID"):
        s.inventory(env[numa], "VCPU", 24, allocation_ratio=16.0)
    for ss in ("SS1_UUID", "SS2_UUID"):
        s.inventory(env[ss], "DISK_GB", 2000, reserved=100, allocation_ratio=1.0)
        s.traits(env[ss], "MISC_SHARES_VIA_AGGREGATE")
    return env


def numa_network(s: Seeder, cn1: str | None = None, cn2: str | None = None) -> Env:
    """cn1 (NUMA nodes with devices, network agents) and cn2 (NICs with PFs)."""
    agg = _new()
    env = {"AGGA_UUID": agg}
    env["SS1_UUID"] = ss1 = s.provider("ss1", agg)
    s.traits(ss1, "MISC_SHARES_VIA_AGGREGATE")
    s.inventory(ss1, "DISK_GB", 2000)
    cn1 = cn1 or s.provider("cn1")
    s.aggregates(cn1, agg)
    s.traits(cn1, "COMPUTE_VOLUME_MULTI_ATTACH")
    env["CN1_UUID"] = cn1
    numas = []
    for i in (0, 1):
        numa = s.provider(f"numa{i}", parent=cn1)
        s.traits(numa, "HW_NUMA_ROOT", *(("CUSTOM_FOO",) if i == 1 else ()))
        s.inventory(numa, "VCPU", 4)
        numas.append(numa)
        env[f"NUMA{i}_UUID"] = numa
    s.inventory(numas[0], "MEMORY_MB", 2048, min_unit=512, step_size=256)
    s.inventory(numas[1], "MEMORY_MB", 2048, min_unit=256, max_unit=1024)
    user, project = "numafx-user", "numafx-project"
    s.allocate(numas[0], {"VCPU": 2}, user, project)
    env["FPGA0_UUID"] = fpga = s.provider("fpga0", parent=numas[0])
    s.inventory(fpga, "FPGA", 1)
    env["PGPU0_UUID"] = pgpu = s.provider("pgpu0", parent=numas[0])
    s.inventory(pgpu, "VGPU", 8)
    for i in (0, 1):
        env[f"FPGA1_{i}_UUID"] = fpga = s.provider(f"fpga1_{i}", parent=numas[1])
        s.inventory(fpga, "FPGA", 1)
    env["SRIOV_AGENT_UUID"] = agent = s.provider("sriov_agent", parent=cn1)
    s.traits(agent, "CUSTOM_VNIC_TYPE_DIRECT")
    for i in (1, 2):
        env[f"ESN{i}_UUID"] = dev = s.provider(f"esn{i}", parent=agent)
        s.traits(dev, f"CUSTOM_PHYSNET{i}")
        s.inventory(dev, "NET_BW_EGR_KILOBIT_PER_SEC", 10000 * i)
    env["OVS_AGENT_UUID"] = agent = s.provider("ovs_agent", parent=cn1)
    s.traits(agent, "CUSTOM_VNIC_TYPE_NORMAL")
    env["BR_INT_UUID"] = dev = s.provider("br_int", parent=agent)
    s.traits(dev, "CUSTOM_PHYSNET0")
    s.inventory(dev, "NET_BW_EGR_KILOBIT_PER_SEC", 1000)
    env.update(_numa_network_cn2(s, cn2 or s.provider("cn2"), agg, user, project))
    return env


def _numa_network_cn2(s: Seeder, cn2: str, agg: str, user: str, project: str) -> Env:
    s.aggregates(cn2, agg)
    s.inventory(cn2, "VCPU", 8)
    s.allocate(cn2, {"VCPU": 3}, user, project)
    s.inventory(cn2, "MEMORY_MB", 2048, min_unit=1024, step_size=128)
    s.inventory(cn2, "DISK_GB", 1000)
    s.traits(cn2, "CUSTOM_FOO")
    env = {"CN2_UUID": cn2}
    nics = []
    for i in (1, 2, 3):
        nic = s.provider(f"nic{i}", parent=cn2)
        s.traits(nic, "CUSTOM_HW_NIC_ROOT")
        nics.append(nic)
        env[f"NIC{i}_UUID"] = nic
    pfs = [("1_1", 0, 1, 4), ("1_2", 0, 2, 4), ("2_1", 1, 1, 2), ("2_2", 1, 2, 2),
           ("2_3", 1, 1, 2), ("2_4", 1, 2, 2), ("3_1", 2, 1, 8)]
    for suffix, nic_index, physnet, vfs in pfs:
        pf = s.provider(f"pf{suffix}", parent=nics[nic_index])
        s.traits(pf, f"CUSTOM_PHYSNET{physnet}")
        s.inventory(pf, "CUSTOM_VF", vfs)
        env[f"PF{suffix}_UUID"] = pf
    return env


def deep_numa_network(s: Seeder) -> Env:
    """numa_network with cn1 and cn2 under parents p1 and p2 of one grandparent."""
    grandparent = s.provider("gp1")
    p1 = s.provider("p1", parent=grandparent)
    p2 = s.provider("p2", parent=grandparent)
    cn1 = s.provider("cn1", parent=p1)
    cn2 = s.provider("cn2", parent=p2)
    return numa_network(s, cn1, cn2)


def granular(s: Seeder) -> Env:
    """Three compute nodes and three sharing providers across aggregates A, B and C."""
    env = {"AGGA": _new(), "AGGB": _new(), "AGGC": _new()}
    agg_a, agg_b, agg_c = env["AGGA"], env["AGGB"], env["AGGC"]
    s.resource_class("CUSTOM_NET_MBPS")
    env["CN_LEFT"] = left = s.provider("cn_left", agg_a)
    for rc, total in (("VCPU", 8), ("MEMORY_MB", 4096), ("DISK_GB", 500), ("VGPU", 8),
                      ("SRIOV_NET_VF", 8), ("CUSTOM_NET_MBPS", 4000)):
        s.inventory(left, rc, total)
    s.traits(left, "HW_CPU_X86_AVX", "HW_CPU_X86_AVX2", "HW_GPU_API_DXVA",
             "HW_NIC_DCB_PFC", "CUSTOM_FOO")
    env["CN_MIDDLE"] = middle = s.provider("cn_middle", agg_a, agg_b)
    for rc, total in (("VCPU", 8), ("MEMORY_MB", 4096), ("SRIOV_NET_VF", 8),
                      ("CUSTOM_NET_MBPS", 4000)):
        s.inventory(middle, rc, total)
    s.traits(middle, "HW_CPU_X86_AVX", "HW_CPU_X86_AVX2", "HW_CPU_X86_SSE",
             "HW_NIC_ACCEL_TLS")
    env["CN_RIGHT"] = right = s.provider("cn_right", agg_b, agg_c)
    for rc, total in (("VCPU", 8), ("MEMORY_MB", 4096), ("DISK_GB", 500)):
        s.inventory(right, rc, total)
    s.inventory(right, "VGPU", 8, max_unit=2)
    s.traits(right, "HW_CPU_X86_MMX", "HW_GPU_API_DXVA", "CUSTOM_DISK_SSD")
    env["SHR_DISK_1"] = disk1 = s.provider("shr_disk_1", agg_a)
    s.inventory(disk1, "DISK_GB", 1000)
    s.traits(disk1, "MISC_SHARES_VIA_AGGREGATE", "CUSTOM_DISK_SSD")
    env["SHR_DISK_2"] = disk2 = s.provider("shr_disk_2", agg_a, agg_b)
    s.inventory(disk2, "DISK_GB", 1000)
    s.traits(disk2, "MISC_SHARES_VIA_AGGREGATE")
    env["SHR_NET"] = net = s.provider("shr_net", agg_c)
    s.inventory(net, "SRIOV_NET_VF", 16)
    s.inventory(net, "CUSTOM_NET_MBPS", 40000)
    s.traits(net, "MISC_SHARES_VIA_AGGREGATE")
    return env


_VNIC_DIRECT = ("CUSTOM_VNIC_TYPE_DIRECT", "CUSTOM_VNIC_TYPE_DIRECT_PHYSICAL",
                "CUSTOM_VNIC_TYPE_MACVTAP")


def neutron_qos_multi_segment(s: Seeder) -> Env:
    """Four computes with OVS and SR-IOV agent subtrees on multi-segment physnets."""
    env: Env = {}
    physnets = {0: ["OTHER"], 1: ["MSN_S1"], 2: ["MSN_S2"], 3: ["MSN_S1", "MSN_S2"]}
    for index, nets in physnets.items():
        name = f"compute{index}"
        bandwidth = 1000 if index == 3 else None
        env[name] = cn = s.provider(name)
        s.inventory(cn, "VCPU", 8)
        s.inventory(cn, "MEMORY_MB", 4096)
        s.inventory(cn, "DISK_GB", 500)
        env[f"{name}:ovs_agent"] = ovs = s.provider(f"{name}:Open vSwitch agent", parent=cn)
        s.inventory(ovs, "NET_PACKET_RATE_KILOPACKET_PER_SEC", 1000)
        s.traits(ovs, "CUSTOM_VNIC_TYPE_NORMAL")
        for n, net in enumerate(nets):
            suffix = "br_ex" if n == 0 else "br_ex2"
            bridge = s.provider(f"{name}:Open vSwitch agent:{suffix.replace('_', '-')}",
                                parent=ovs)
            env[f"{name}:{suffix}"] = bridge
            for rc in ("NET_BW_EGR_KILOBIT_PER_SEC", "NET_BW_IGR_KILOBIT_PER_SEC"):
                s.inventory(bridge, rc, bandwidth or 5000)
            s.traits(bridge, "CUSTOM_VNIC_TYPE_NORMAL", f"CUSTOM_PHYSNET_{net}")
        sriov = s.provider(f"{name}:NIC Switch agent", parent=cn)
        # Upstream names compute2's agent for compute3 too (a slip the tests never read).
        env[f"{name}:sriov_agent"] = env["compute2:sriov_agent"] if index == 3 else sriov
        s.traits(sriov, *_VNIC_DIRECT)
        for n, net in enumerate(nets):
            pf = s.provider(f"{name}:NIC Switch agent:enp129s0f{n}", parent=sriov)
            env[f"{name}:pf{n}"] = pf
            for rc in ("NET_BW_EGR_KILOBIT_PER_SEC", "NET_BW_IGR_KILOBIT_PER_SEC"):
                s.inventory(pf, rc, bandwidth or 10000)
            s.traits(pf, *_VNIC_DIRECT, f"CUSTOM_PHYSNET_{net}")
    return env
