"""Run upstream's Tempest network API tests against a fresh ``kilonova serve all``.

Like ``tempest_compute.py`` (same accounts, images and flavors), with the network
service enabled: Tempest's ``api_extensions`` is what ``GET /networking/v2.0/extensions``
lists, so tests of resources the subset does not serve (routers, floating IPs, subnet
pools, RBAC, trunks, QoS, tags, ...) skip. Not part of the test suite (it takes minutes):

    .venv/bin/python scripts/tempest_network.py [--regex tempest.api.network] [--concurrency 2]
"""

from __future__ import annotations

from pathlib import Path

from tempest_common import ADMIN_PASSWORD, NETWORK_CONF, Admin, arguments, run_tempest
from tempest_compute import CONF as COMPUTE_CONF
from tempest_compute import FILTERS


def main() -> int:
    args = arguments(__doc__.splitlines()[0], "tempest.api.network", 18775)

    def conf(admin: Admin, workspace: Path) -> str:
        served = admin.extensions()
        compute = COMPUTE_CONF.replace("neutron = false", "neutron = true")
        return (compute + NETWORK_CONF).format(
            workspace=workspace, base=admin.base, admin_password=ADMIN_PASSWORD,
            filters=FILTERS, extensions=",".join(served), public_network_id="",
            floating_network_name="",
            floating_ips=str("router" in served).lower(), image=admin.image("tempest-image"),
            image_alt=admin.image("tempest-image-alt"), flavor=admin.flavor("t.small", 128),
            flavor_alt=admin.flavor("t.medium", 256))

    return run_tempest(args, conf)


if __name__ == "__main__":
    raise SystemExit(main())
