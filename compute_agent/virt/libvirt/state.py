"""libvirt domain states as our power states."""

from __future__ import annotations

import libvirt

from common.states import PowerState

STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: PowerState.NOSTATE,
    libvirt.VIR_DOMAIN_RUNNING: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_PAUSED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.SHUTDOWN,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.SUSPENDED,
}


def power_state(dom: libvirt.virDomain) -> int:
    """Our power state of ``dom``; a shut-off guest with a managed save is SUSPENDED."""
    state = dom.state()[0]
    if state == libvirt.VIR_DOMAIN_SHUTOFF and dom.hasManagedSaveImage(0):
        return PowerState.SUSPENDED
    return int(STATES.get(state, PowerState.NOSTATE))
