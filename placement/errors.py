"""Placement's errors: the common classes, with the codes placement clients look for."""

from __future__ import annotations

from common.errors import BadRequest, ConcurrentUpdate, Conflict, ControlPlaneError

# Any error without a more specific code carries this one on the wire.
DEFAULT_CODE = "placement.undefined_code"


class ProviderConcurrentUpdate(ConcurrentUpdate):
    """A resource provider's or consumer's generation changed under us."""

    code = "placement.concurrent_update"


class InventoryInUse(Conflict):
    code = "placement.inventory.inuse"


class ProviderInUse(Conflict):
    code = "placement.resource_provider.inuse"


class CannotDeleteParent(Conflict):
    code = "placement.resource_provider.cannot_delete_parent"


class DuplicateName(Conflict):
    code = "placement.duplicate_name"


class ProviderNotFound(BadRequest):
    """A provider named in a request body (not the path) does not exist."""

    code = "placement.resource_provider.not_found"


class QueryDuplicateKey(BadRequest):
    code = "placement.query.duplicate_key"


class QueryBadValue(BadRequest):
    code = "placement.query.bad_value"


class QueryMissingValue(BadRequest):
    code = "placement.query.missing_value"


class NotAcceptable(ControlPlaneError):
    code = "placement.not_acceptable"


class UnsupportedMediaType(ControlPlaneError):
    code = "placement.unsupported_media_type"


class MethodNotAllowed(ControlPlaneError):
    code = "placement.method_not_allowed"


def wire_code(error: ControlPlaneError) -> str:
    """The ``code`` placement clients see: ours when it is a placement one."""
    code = error.code
    known = code.startswith("placement.") and code not in (
        NotAcceptable.code, UnsupportedMediaType.code, MethodNotAllowed.code, "placement.error"
    )
    return code if known else DEFAULT_CODE
