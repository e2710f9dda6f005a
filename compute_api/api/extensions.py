"""/extensions: the fixed list of API extensions older clients look for.

Since v2.1 the API is versioned by microversions, not extensions; the list only tells
clients written for extensions that the features are there.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from common.errors import NotFound
from compute_api.api.deps import ContextDep

router = APIRouter(prefix="/v2.1/extensions")

UPDATED = "2014-12-03T00:00:00Z"
NAMESPACE = "http://docs.openstack.org/compute/ext/fake_xml"

# alias -> (name, what it adds)
EXTENSIONS: dict[str, tuple[str, str]] = {
    "os-access-ips": ("AccessIPs", "IPv4 and IPv6 access addresses of servers."),
    "os-admin-actions": ("AdminActions", "Administrative server actions."),
    "os-aggregates": ("Aggregates", "Host aggregates."),
    "os-availability-zone": ("AvailabilityZone", "Availability zones."),
    "os-config-drive": ("ConfigDrive", "Config drives of servers."),
    "os-create-backup": ("CreateBackup", "Server backups."),
    "os-deferred-delete": ("DeferredDelete", "Soft-deleted servers."),
    "os-disk-config": ("DiskConfig", "The disk configuration of servers."),
    "os-evacuate": ("Evacuate", "Evacuating servers of a failed host."),
    "os-extended-availability-zone": ("ExtendedAvailabilityZone",
                                      "The availability zone of a server."),
    "os-extended-server-attributes": ("ExtendedServerAttributes",
                                      "Host and instance name of servers."),
    "os-extended-status": ("ExtendedStatus", "vm, task and power states of servers."),
    "os-extended-volumes": ("ExtendedVolumes", "Volumes attached to servers."),
    "os-flavor-access": ("FlavorAccess", "Private flavors and the projects using them."),
    "os-flavor-extra-specs": ("FlavorExtraSpecs", "Extra specs of flavors."),
    "os-flavor-manage": ("FlavorManage", "Creating and deleting flavors."),
    "os-flavor-rxtx": ("FlavorRxtx", "The rxtx factor of flavors."),
    "os-hide-server-addresses": ("HideServerAddresses",
                                 "Addresses hidden in some server states."),
    "os-hosts": ("Hosts", "Hosts and their resources."),
    "os-hypervisors": ("Hypervisors", "Hypervisors and their use."),
    "os-instance-actions": ("InstanceActions", "Actions taken on servers."),
    "os-keypairs": ("Keypairs", "Key pairs."),
    "os-lock-server": ("LockServer", "Locking servers."),
    "os-migrate-server": ("MigrateServer", "Cold and live migration."),
    "os-migrations": ("Migrations", "Migrations of servers."),
    "os-multinic": ("Multinic", "Several network interfaces per server."),
    "os-pause-server": ("PauseServer", "Pausing servers."),
    "os-quota-class-sets": ("QuotaClasses", "Quota classes."),
    "os-quota-sets": ("Quotas", "Quotas of projects."),
    "os-server-diagnostics": ("ServerDiagnostics", "Diagnostics of servers."),
    "os-server-groups": ("ServerGroups", "Server groups."),
    "os-server-tags": ("ServerTags", "Tags of servers."),
    "os-server-usage": ("ServerUsage", "Launch and termination times of servers."),
    "os-services": ("Services", "Services of the cloud."),
    "os-shelve": ("Shelve", "Shelving servers."),
    "os-simple-tenant-usage": ("SimpleTenantUsage", "Usage of projects."),
    "os-suspend-server": ("SuspendServer", "Suspending servers."),
    "os-used-limits": ("UsedLimits", "Used quota in limits."),
    "os-user-data": ("UserData", "User data of servers."),
    "os-volumes": ("Volumes", "Volumes."),
    "servers": ("Servers", "Servers."),
    "flavors": ("Flavors", "Flavors."),
    "images": ("Images", "Images."),
    "limits": ("Limits", "Limits."),
    "versions": ("Versions", "API versions."),
}


def _view(alias: str) -> dict[str, Any]:
    name, description = EXTENSIONS[alias]
    return {"alias": alias, "name": name, "description": description,
            "namespace": NAMESPACE, "updated": UPDATED, "links": []}


@router.get("")
def list_extensions(ctx: ContextDep) -> dict[str, Any]:
    return {"extensions": [_view(alias) for alias in EXTENSIONS]}


@router.get("/{alias}")
def show_extension(alias: str, ctx: ContextDep) -> dict[str, Any]:
    if alias not in EXTENSIONS:
        raise NotFound("The resource could not be found.")
    return {"extension": _view(alias)}
