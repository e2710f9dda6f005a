"""/extensions: the fixed list of API extensions older clients look for.

Since v2.1 the API is versioned by microversions, not extensions; the list (upstream's
aliases and names) only tells clients written for extensions that the features are there.
"""

from __future__ import annotations

from typing import Any

from common.errors import NotFound
from common.routes import Route
from compute_api.api.deps import ContextDep

UPDATED = "2014-12-03T00:00:00Z"
NAMESPACE = "http://docs.openstack.org/compute/ext/fake_xml"

# alias -> (name, what it adds): the aliases and names upstream lists, in its order.
EXTENSIONS: dict[str, tuple[str, str]] = {
    "NMN": ("Multinic", "Legacy extension, part of the v2.1 API."),
    "OS-DCF": ("DiskConfig", "Legacy extension, part of the v2.1 API."),
    "OS-EXT-AZ": ("ExtendedAvailabilityZone", "Legacy extension, part of the v2.1 API."),
    "OS-EXT-IMG-SIZE": ("ImageSize", "Legacy extension, part of the v2.1 API."),
    "OS-EXT-IPS": ("ExtendedIps", "Legacy extension, part of the v2.1 API."),
    "OS-EXT-IPS-MAC": ("ExtendedIpsMac", "Legacy extension, part of the v2.1 API."),
    "OS-EXT-SRV-ATTR": ("ExtendedServerAttributes",
                        "Legacy extension, part of the v2.1 API."),
    "OS-EXT-STS": ("ExtendedStatus", "Legacy extension, part of the v2.1 API."),
    "OS-FLV-DISABLED": ("FlavorDisabled", "Legacy extension, part of the v2.1 API."),
    "OS-FLV-EXT-DATA": ("FlavorExtraData", "Legacy extension, part of the v2.1 API."),
    "OS-SCH-HNT": ("SchedulerHints", "Legacy extension, part of the v2.1 API."),
    "OS-SRV-USG": ("ServerUsage", "Legacy extension, part of the v2.1 API."),
    "os-access-ips": ("AccessIPs", "IPv4 and IPv6 access addresses of servers."),
    "os-admin-actions": ("AdminActions", "Administrative server actions."),
    "os-admin-password": ("AdminPassword", "Legacy extension, part of the v2.1 API."),
    "os-agents": ("Agents", "Legacy extension, part of the v2.1 API."),
    "os-aggregates": ("Aggregates", "Host aggregates."),
    "os-assisted-volume-snapshots": ("AssistedVolumeSnapshots",
                                     "Legacy extension, part of the v2.1 API."),
    "os-attach-interfaces": ("AttachInterfaces", "Legacy extension, part of the v2.1 API."),
    "os-availability-zone": ("AvailabilityZone", "Availability zones."),
    "os-baremetal-ext-status": ("BareMetalExtStatus",
                                "Legacy extension, part of the v2.1 API."),
    "os-baremetal-nodes": ("BareMetalNodes", "Legacy extension, part of the v2.1 API."),
    "os-block-device-mapping": ("BlockDeviceMapping",
                                "Legacy extension, part of the v2.1 API."),
    "os-block-device-mapping-v2-boot": ("BlockDeviceMappingV2Boot",
                                        "Legacy extension, part of the v2.1 API."),
    "os-cell-capacities": ("CellCapacities", "Legacy extension, part of the v2.1 API."),
    "os-cells": ("Cells", "Legacy extension, part of the v2.1 API."),
    "os-certificates": ("Certificates", "Legacy extension, part of the v2.1 API."),
    "os-cloudpipe": ("Cloudpipe", "Legacy extension, part of the v2.1 API."),
    "os-cloudpipe-update": ("CloudpipeUpdate", "Legacy extension, part of the v2.1 API."),
    "os-config-drive": ("ConfigDrive", "Config drives of servers."),
    "os-console-auth-tokens": ("ConsoleAuthTokens",
                               "Legacy extension, part of the v2.1 API."),
    "os-console-output": ("ConsoleOutput", "Legacy extension, part of the v2.1 API."),
    "os-consoles": ("Consoles", "Legacy extension, part of the v2.1 API."),
    "os-create-backup": ("CreateBackup", "Server backups."),
    "os-create-server-ext": ("Createserverext", "Legacy extension, part of the v2.1 API."),
    "os-deferred-delete": ("DeferredDelete", "Soft-deleted servers."),
    "os-evacuate": ("Evacuate", "Evacuating servers of a failed host."),
    "os-extended-evacuate-find-host": ("ExtendedEvacuateFindHost",
                                       "Legacy extension, part of the v2.1 API."),
    "os-extended-floating-ips": ("ExtendedFloatingIps",
                                 "Legacy extension, part of the v2.1 API."),
    "os-extended-hypervisors": ("ExtendedHypervisors",
                                "Legacy extension, part of the v2.1 API."),
    "os-extended-networks": ("ExtendedNetworks", "Legacy extension, part of the v2.1 API."),
    "os-extended-quotas": ("ExtendedQuotas", "Legacy extension, part of the v2.1 API."),
    "os-extended-rescue-with-image": ("ExtendedRescueWithImage",
                                      "Legacy extension, part of the v2.1 API."),
    "os-extended-services": ("ExtendedServices", "Legacy extension, part of the v2.1 API."),
    "os-extended-services-delete": ("ExtendedServicesDelete",
                                    "Legacy extension, part of the v2.1 API."),
    "os-extended-status": ("ExtendedStatus", "vm, task and power states of servers."),
    "os-extended-volumes": ("ExtendedVolumes", "Volumes attached to servers."),
    "os-fixed-ips": ("FixedIPs", "Legacy extension, part of the v2.1 API."),
    "os-flavor-access": ("FlavorAccess", "Private flavors and the projects using them."),
    "os-flavor-extra-specs": ("FlavorExtraSpecs", "Extra specs of flavors."),
    "os-flavor-manage": ("FlavorManage", "Creating and deleting flavors."),
    "os-flavor-rxtx": ("FlavorRxtx", "The rxtx factor of flavors."),
    "os-flavor-swap": ("FlavorSwap", "Legacy extension, part of the v2.1 API."),
    "os-floating-ip-dns": ("FloatingIpDns", "Legacy extension, part of the v2.1 API."),
    "os-floating-ip-pools": ("FloatingIpPools", "Legacy extension, part of the v2.1 API."),
    "os-floating-ips": ("FloatingIps", "Legacy extension, part of the v2.1 API."),
    "os-floating-ips-bulk": ("FloatingIpsBulk", "Legacy extension, part of the v2.1 API."),
    "os-fping": ("Fping", "Legacy extension, part of the v2.1 API."),
    "os-hide-server-addresses": ("HideServerAddresses",
                                 "Addresses hidden in some server states."),
    "os-hosts": ("Hosts", "Hosts and their resources."),
    "os-hypervisor-status": ("HypervisorStatus", "Legacy extension, part of the v2.1 API."),
    "os-hypervisors": ("Hypervisors", "Hypervisors and their use."),
    "os-instance-actions": ("InstanceActions", "Actions taken on servers."),
    "os-instance_usage_audit_log": ("OSInstanceUsageAuditLog",
                                    "Legacy extension, part of the v2.1 API."),
    "os-keypairs": ("Keypairs", "Key pairs."),
    "os-lock-server": ("LockServer", "Locking servers."),
    "os-migrate-server": ("MigrateServer", "Cold and live migration."),
    "os-migrations": ("Migrations", "Migrations of servers."),
    "os-multiple-create": ("MultipleCreate", "Legacy extension, part of the v2.1 API."),
    "os-networks": ("Networks", "Legacy extension, part of the v2.1 API."),
    "os-networks-associate": ("NetworkAssociationSupport",
                              "Legacy extension, part of the v2.1 API."),
    "os-pause-server": ("PauseServer", "Pausing servers."),
    "os-personality": ("Personality", "Legacy extension, part of the v2.1 API."),
    "os-preserve-ephemeral-rebuild": ("PreserveEphemeralOnRebuild",
                                      "Legacy extension, part of the v2.1 API."),
    "os-quota-class-sets": ("QuotaClasses", "Quota classes."),
    "os-quota-sets": ("Quotas", "Quotas of projects."),
    "os-rescue": ("Rescue", "Legacy extension, part of the v2.1 API."),
    "os-security-group-default-rules": ("SecurityGroupDefaultRules",
                                        "Legacy extension, part of the v2.1 API."),
    "os-security-groups": ("SecurityGroups", "Legacy extension, part of the v2.1 API."),
    "os-server-diagnostics": ("ServerDiagnostics", "Diagnostics of servers."),
    "os-server-external-events": ("ServerExternalEvents",
                                  "Legacy extension, part of the v2.1 API."),
    "os-server-group-quotas": ("ServerGroupQuotas",
                               "Legacy extension, part of the v2.1 API."),
    "os-server-groups": ("ServerGroups", "Server groups."),
    "os-server-list-multi-status": ("ServerListMultiStatus",
                                    "Legacy extension, part of the v2.1 API."),
    "os-server-password": ("ServerPassword", "Legacy extension, part of the v2.1 API."),
    "os-server-sort-keys": ("ServerSortKeys", "Legacy extension, part of the v2.1 API."),
    "os-server-start-stop": ("ServerStartStop", "Legacy extension, part of the v2.1 API."),
    "os-services": ("Services", "Services of the cloud."),
    "os-shelve": ("Shelve", "Shelving servers."),
    "os-simple-tenant-usage": ("SimpleTenantUsage", "Usage of projects."),
    "os-suspend-server": ("SuspendServer", "Suspending servers."),
    "os-tenant-networks": ("OSTenantNetworks", "Legacy extension, part of the v2.1 API."),
    "os-used-limits": ("UsedLimits", "Used quota in limits."),
    "os-used-limits-for-admin": ("UsedLimitsForAdmin",
                                 "Legacy extension, part of the v2.1 API."),
    "os-user-data": ("UserData", "User data of servers."),
    "os-user-quotas": ("UserQuotas", "Legacy extension, part of the v2.1 API."),
    "os-virtual-interfaces": ("VirtualInterfaces",
                              "Legacy extension, part of the v2.1 API."),
    "os-volume-attachment-update": ("VolumeAttachmentUpdate",
                                    "Legacy extension, part of the v2.1 API."),
    "os-volumes": ("Volumes", "Volumes."),
}


def _view(alias: str) -> dict[str, Any]:
    name, description = EXTENSIONS[alias]
    return {"alias": alias, "name": name, "description": description,
            "namespace": NAMESPACE, "updated": UPDATED, "links": []}


def list_extensions(ctx: ContextDep) -> dict[str, Any]:
    return {"extensions": [_view(alias) for alias in EXTENSIONS]}


def show_extension(alias: str, ctx: ContextDep) -> dict[str, Any]:
    if alias not in EXTENSIONS:
        raise NotFound("The resource could not be found.")
    return {"extension": _view(alias)}


ROUTES: list[Route] = [
    Route("GET", "/v2.1/extensions", list_extensions, "os_compute_api:extensions"),
    Route("GET", "/v2.1/extensions/{alias}", show_extension, "os_compute_api:extensions"),
]
