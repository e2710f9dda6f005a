"""The fixtures upstream's gabbi files name, as live-endpoint equivalents.

Each starts a new placement app on a fresh database (``Harness.start``), sets the
environment variables the YAML files read (``$ENVIRON['RP_UUID']``) and creates the
same data upstream's fixtures create, through our API. Gabbi finds them by name in
this module and instantiates them without arguments, so the harness of the run is
installed here first (``install``).
"""

from __future__ import annotations

import os
import uuid

from gabbi import fixture

from placement.policies import DEFAULTS
from tests.conformance.placement.harness import FileConfig, Harness
from tests.conformance.placement.seeder import Seeder
from tests.conformance.placement.topologies import (
    deep_numa_network,
    granular,
    neutron_qos_multi_segment,
    numa_aggregate,
    numa_network,
    shared_storage,
)

_harness: Harness | None = None


def install(harness: Harness | None) -> None:
    global _harness
    _harness = harness


def _new() -> str:
    return str(uuid.uuid4())


# Variables every file may use, each a fresh uuid per file.
_UUID_VARIABLES = (
    "RP_UUID", "RP_NAME", "RP_UUID1", "RP_NAME1", "RP_UUID2", "RP_NAME2", "PROJECT_ID",
    "ADMIN_PROJECT_ID", "SERVICE_PROJECT_ID", "USER_ID", "PROJECT_ID_ALT", "USER_ID_ALT",
    "INSTANCE_UUID", "MIGRATION_UUID", "CONSUMER_UUID", "PARENT_PROVIDER_UUID",
    "ALT_PARENT_PROVIDER_UUID",
)


# Upstream's deprecated policy defaults, which its base fixture runs with: they add
# ``role:admin`` to every rule, which only changes the reshaper's (service only).
LEGACY_RULES = {"placement:reshaper:reshape": "rule:service_api or rule:admin_api"}


class APIFixture(fixture.GabbiFixture):
    """A placement service on an empty database, with development auth and upstream's
    legacy policy defaults (as upstream's base fixture)."""

    def config(self) -> FileConfig:
        return FileConfig(policy_rules=dict(LEGACY_RULES))

    def seed(self, seeder: Seeder) -> None:
        """Create the file's data; nothing here."""

    def start_fixture(self) -> None:
        if _harness is None:
            raise RuntimeError("no harness installed")
        _harness.start(self.config())
        for name in _UUID_VARIABLES:
            os.environ[name] = _new()
        os.environ["CUSTOM_RES_CLASS"] = "CUSTOM_IRON_NFV"
        os.environ["CUSTOM_RES_CLASS1"] = "CUSTOM_IRON_NFV1"
        os.environ["CUSTOM_RES_CLASS2"] = "CUSTOM_IRON_NFV2"
        with _harness.client() as client:
            self.seed(Seeder(client))

    def stop_fixture(self) -> None:
        if _harness is not None:
            _harness.stop()


class AllocationFixture(APIFixture):
    """One provider (VCPU 10, DISK_GB 2048) and three consumers of two users."""

    def seed(self, seeder: Seeder) -> None:
        os.environ["ALT_USER_ID"] = _new()
        project, user, alt_user = (os.environ[k] for k in ("PROJECT_ID", "USER_ID",
                                                           "ALT_USER_ID"))
        rp = seeder.provider(os.environ["RP_NAME"], rp_uuid=os.environ["RP_UUID"])
        seeder.inventory(rp, "DISK_GB", 2048, step_size=10, min_unit=10, max_unit=1000)
        seeder.inventory(rp, "VCPU", 10, max_unit=10)
        os.environ["CONSUMER_0"] = seeder.allocate(rp, {"DISK_GB": 1000}, user, project)
        os.environ["CONSUMER_ID"] = seeder.allocate(rp, {"VCPU": 6}, user, project)
        os.environ["ALT_CONSUMER_ID"] = seeder.allocate(rp, {"DISK_GB": 20, "VCPU": 1},
                                                        alt_user, project)
        os.environ["ALT_RP_UUID"] = _new()
        os.environ["ALT_RP_NAME"] = _new()


class SharedStorageFixture(APIFixture):
    def seed(self, seeder: Seeder) -> None:
        os.environ.update(shared_storage(seeder))


class NUMAAggregateFixture(APIFixture):
    def seed(self, seeder: Seeder) -> None:
        os.environ.update(numa_aggregate(seeder))


class NUMANetworkFixture(APIFixture):
    def seed(self, seeder: Seeder) -> None:
        os.environ.update(numa_network(seeder))


class DeepNUMANetworkFixture(APIFixture):
    def seed(self, seeder: Seeder) -> None:
        os.environ.update(deep_numa_network(seeder))


class GranularFixture(APIFixture):
    def seed(self, seeder: Seeder) -> None:
        os.environ.update(granular(seeder))


class NeutronQoSMultiSegmentFixture(APIFixture):
    def seed(self, seeder: Seeder) -> None:
        os.environ.update(neutron_qos_multi_segment(seeder))


class NonSharedStorageFixture(APIFixture):
    """Three compute nodes with local VCPU, MEMORY_MB and DISK_GB."""

    def seed(self, seeder: Seeder) -> None:
        for name in ("AGGA_UUID", "AGGB_UUID", "AGGC_UUID"):
            os.environ[name] = _new()
        for index in (1, 2, 3):
            rp = seeder.provider(f"cn{index}")
            os.environ[f"CN{index}_UUID"] = rp
            seeder.inventory(rp, "VCPU", 24)
            seeder.inventory(rp, "MEMORY_MB", 128 * 1024)
            seeder.inventory(rp, "DISK_GB", 2000)


class CORSFixture(APIFixture):
    """CORS on, for one origin."""

    def config(self) -> FileConfig:
        config = super().config()
        config.cors = {"allowed_origin": ["http://valid.example.com"],
                       "allow_headers": ["openstack-api-version"]}
        return config


class OpenPolicyFixture(APIFixture):
    """Every rule but ``admin_api`` lets anyone through."""

    def config(self) -> FileConfig:
        return FileConfig(policy_rules={d.name: "@" for d in DEFAULTS if d.name != "admin_api"})


class SecureRBACPolicyFixture(APIFixture):
    """Upstream's new defaults with scope checks: what our defaults are."""

    def config(self) -> FileConfig:
        return FileConfig()


class LegacyRBACPolicyFixture(APIFixture):
    """Upstream's deprecated defaults, said explicitly (as APIFixture's)."""
