"""Typed errors shared by every service.

Each class has a stable ``code`` that is never renamed or reused. The classes are
rebuilt on the far side of an RPC call (their module is on the transport's allowed
list), so constructors take only a message and JSON-safe keyword arguments.
"""

from __future__ import annotations

from typing import Any


class ControlPlaneError(Exception):
    """Base of every error this project raises on purpose."""

    code = "kilonova.error"

    def __init__(self, message: str = "", **kwargs: Any) -> None:
        super().__init__(message)
        self.message = message or self.__class__.__name__
        # oslo.messaging re-creates remote errors as cls(*args, **kwargs).
        self.kwargs = kwargs

    def __str__(self) -> str:
        return self.message


class BadRequest(ControlPlaneError):
    code = "kilonova.bad_request"


class Unauthorized(ControlPlaneError):
    code = "kilonova.unauthorized"


class Forbidden(ControlPlaneError):
    code = "kilonova.forbidden"


class PayloadTooLarge(ControlPlaneError):
    """A request body, or uploaded data, over the size the service accepts."""

    code = "kilonova.payload_too_large"


class NotFound(ControlPlaneError):
    code = "kilonova.not_found"


class Conflict(ControlPlaneError):
    code = "kilonova.conflict"


class InvalidState(Conflict):
    """An action was asked of a server whose vm/task state does not allow it."""

    code = "instance.invalid_state"


class ConcurrentUpdate(Conflict):
    """A compare-and-swap lost against a concurrent writer."""

    code = "kilonova.concurrent_update"


class QuotaExceeded(ControlPlaneError):
    code = "kilonova.quota_exceeded"


class NoValidHost(ControlPlaneError):
    code = "scheduler.no_valid_host"


class DriverError(ControlPlaneError):
    code = "compute.driver_error"


class Retryable(ControlPlaneError):
    """A failure worth retrying after a back-off."""

    code = "kilonova.retryable"


class Throttled(ControlPlaneError):
    """Refused for now (too many failures); ``retry_after`` seconds until it may pass."""

    code = "kilonova.throttled"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(ControlPlaneError):
    """A dependency (database, another service) is unavailable for now."""

    code = "kilonova.service_unavailable"


class PlacementError(ControlPlaneError):
    code = "placement.error"


class ConfigError(ControlPlaneError):
    code = "kilonova.config_invalid"


class SchemaBehind(ControlPlaneError):
    """The database schema is older than this code expects."""

    code = "kilonova.schema_behind"
