"""libvirt errors become ours here, keeping libvirt's message."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import libvirt

from common.errors import DriverError, NotFound, ServiceUnavailable


class GuestNotFound(NotFound):
    code = "compute.guest_not_found"


class HypervisorUnavailable(ServiceUnavailable):
    code = "compute.hypervisor_unavailable"


# Error codes meaning "the connection to libvirtd is gone": reconnect and retry.
CONNECTION_LOST = {
    libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_INTERNAL_ERROR,
    libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_ERR_RPC,
}


def is_connection_lost(exc: libvirt.libvirtError) -> bool:
    message = str(exc)
    return exc.get_error_code() in CONNECTION_LOST and (
        "client socket is closed" in message or "Broken pipe" in message
        or "no connection driver" in message or "Cannot write data" in message
        or "End of file while reading data" in message
        or exc.get_error_code() in (libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_INVALID_CONN)
    )


def translate(exc: libvirt.libvirtError, doing: str) -> Exception:
    """Our exception for a libvirt error raised while ``doing`` something."""
    message = f"{doing}: {exc.get_error_message() or exc}"
    code = exc.get_error_code()
    if code == libvirt.VIR_ERR_NO_DOMAIN:
        return GuestNotFound(message)
    if is_connection_lost(exc):
        return HypervisorUnavailable(message)
    return DriverError(message, libvirt_code=code)


@contextlib.contextmanager
def translated(doing: str) -> Iterator[None]:
    """Re-raise libvirt errors inside the block as our classes."""
    try:
        yield
    except libvirt.libvirtError as exc:
        raise translate(exc, doing) from exc
