"""Run upstream's Tempest compute API tests against a fresh ``kilonova serve all``.

Starts the embedded cloud (builtin identity, simulated hosts) in a temporary data
directory, creates pre-provisioned accounts, a flavor pair and an image pair, writes a
Tempest workspace for them (no volume service), runs ``tempest run --regex <REGEX>``
and prints the counts. Not part of the test suite (it takes minutes); the next
engineer's measuring stick for compute API conformance:

    .venv/bin/python scripts/tempest_compute.py [--regex tempest.api.compute] [--concurrency 2]

``--with-network`` turns the network service on: a shared network ``tempest-net`` every
account's servers boot on (``fixed_network_name``), an external network for floating
IPs (``public_network_id``) routed to it, ``api_extensions`` as the network API lists
them, and interface attach enabled. ``--neutron-backend`` (with ``--with-network``) runs
the compute cloud with ``[network] backend = neutron``, its Neutron a second cloud's
network API.
"""

from __future__ import annotations

from pathlib import Path

from tempest_common import ADMIN_PASSWORD, NETWORK_CONF, Admin, arguments, run_tempest

# The scheduler filters Tempest may assume (what Kilonova's scheduler does).
FILTERS = ",".join(["AvailabilityZoneFilter", "ComputeFilter", "ComputeCapabilitiesFilter",
                    "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter",
                    "ServerGroupAffinityFilter", "SameHostFilter", "DifferentHostFilter"])

CONF = """[DEFAULT]
log_dir = {workspace}/logs
log_file = tempest.log

[auth]
use_dynamic_credentials = false
test_accounts_file = {workspace}/etc/accounts.yaml
default_credentials_domain_name = Default
create_isolated_networks = false
admin_username = admin
admin_password = {admin_password}
admin_project_name = admin
admin_domain_name = Default

[identity]
uri_v3 = {base}/identity/v3
auth_version = v3
region = RegionOne

[identity-feature-enabled]
api_v2 = false

[service_available]
nova = true
glance = true
neutron = false
cinder = false
swift = false
placement = true

[compute]
image_ref = {image}
image_ref_alt = {image_alt}
flavor_ref = {flavor}
flavor_ref_alt = {flavor_alt}
min_microversion = 2.1
max_microversion = latest
build_timeout = 90
endpoint_type = publicURL
fixed_network_name =

[compute-feature-enabled]
resize = true
cold_migration = true
live_migration = false
console_output = true
snapshot = true
pause = true
suspend = true
shelve = false
shelve_migrate = false
rescue = true
change_password = true
interface_attach = false
config_drive = true
personality = true
attach_encrypted_volume = false
serial_console = false
spice_console = false
vnc_console = false
metadata_service = false
scheduler_enabled_filters = {filters}

[validation]
run_validation = false

[image]
image_path =

[image-feature-enabled]
api_v1 = false
api_v2 = true
"""


def network_conf(admin: Admin) -> tuple[str, dict[str, str]]:
    """The extra sections and the switches of the compute template for ``--with-network``."""
    served = admin.extensions()
    public = admin.network("tempest-public", "172.24.4.0/24", **{"router:external": True})
    private = admin.network("tempest-net", "192.168.200.0/24", shared=True)
    routed = "router" in served
    if routed:
        admin.router("tempest-router", public, private)
    switches = {"neutron = false": "neutron = true",
                "fixed_network_name =\n": "fixed_network_name = tempest-net\n",
                "interface_attach = false": "interface_attach = true"}
    return NETWORK_CONF.format(
        public_network_id=public, floating_network_name="tempest-public",
        extensions=",".join(served), floating_ips=str(routed).lower()), switches


def main() -> int:
    args = arguments(__doc__.splitlines()[0], "tempest.api.compute", 18774, flags={
        "--with-network": "enable the network service: networks, floating IPs, interfaces"})

    def conf(admin: Admin, workspace: Path) -> str:
        compute = CONF.format(
            workspace=workspace, base=admin.base, admin_password=ADMIN_PASSWORD,
            filters=FILTERS, image=admin.image("tempest-image"),
            image_alt=admin.image("tempest-image-alt"), flavor=admin.flavor("t.small", 128),
            flavor_alt=admin.flavor("t.medium", 256))
        if not args.with_network:
            return compute
        sections, switches = network_conf(admin)
        for old, new in switches.items():
            compute = compute.replace(old, new)
        return compute + sections

    return run_tempest(args, conf)


if __name__ == "__main__":
    raise SystemExit(main())
