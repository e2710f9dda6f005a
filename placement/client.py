"""The HTTP client every other service uses to talk to placement."""

from __future__ import annotations

import logging
import random
import time
import uuid
from typing import Any

import httpx
import orjson

from common.errors import PlacementError, ServiceUnavailable

LOG = logging.getLogger(__name__)

CONCURRENT_UPDATE = "placement.concurrent_update"
# Generation conflicts are retried this often, pausing a random while of at most
# min(cap, base * 2**attempt) seconds before each retry.
RETRIES = 20
BACKOFF_BASE = 0.002
BACKOFF_CAP = 0.1
# Placement answers 503 with Retry-After while its database is away for a moment: a
# read or a delete (safe to repeat) is asked again, for up to this many seconds in all.
UNAVAILABLE_PATIENCE = 10.0
REPEATABLE = frozenset({"GET", "DELETE"})
# GET /usages groups by consumer type from 1.38; callers want the flat totals.
FLAT_USAGES_VERSION = "1.37"
INSTANCE_CONSUMER_TYPE = "INSTANCE"
# A move's migration record holds the source host's share while the move runs.
MIGRATION_CONSUMER_TYPE = "MIGRATION"
# On the provider of a compute node whose service an operator disabled: the scheduler
# asks placement for hosts without it.
COMPUTE_STATUS_DISABLED = "COMPUTE_STATUS_DISABLED"
_INVENTORY_DEFAULTS: dict[str, int | float] = {
    "reserved": 0, "min_unit": 1, "max_unit": 2147483647, "step_size": 1,
    "allocation_ratio": 1.0,
}


class PlacementClient:
    """Synchronous and thread-safe: one pooled ``httpx.Client`` underneath."""

    def __init__(self, base_url: str, token: str = "admin:admin", timeout: float = 30.0,
                 microversion: str = "1.39", auth: httpx.Auth | None = None) -> None:
        # ``auth`` (a Keystone service user) replaces the static token on every request.
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            timeout=timeout,
            auth=auth,
            headers={
                "X-Auth-Token": token,
                "OpenStack-API-Version": f"placement {microversion}",
                "Accept": "application/json",
            },
        )

    def close(self) -> None:
        self._http.close()

    # -- providers -------------------------------------------------------------------

    def ensure_resource_provider(
        self, rp_uuid: uuid.UUID, name: str, parent_uuid: uuid.UUID | None = None
    ) -> int:
        """Create the provider unless it exists; return its generation."""
        found = self._request("GET", f"resource_providers/{rp_uuid}", ok=(200, 404))
        if found.status_code == 200:
            return int(found.json()["generation"])
        body: dict[str, Any] = {"name": name, "uuid": str(rp_uuid)}
        if parent_uuid is not None:
            body["parent_provider_uuid"] = str(parent_uuid)
        created = self._request("POST", "resource_providers", json=body, ok=(200, 201, 409))
        if created.status_code != 409:
            return int(created.json()["generation"])
        # Someone created it first (or the name belongs to another provider).
        again = self._request("GET", f"resource_providers/{rp_uuid}", ok=(200, 404))
        if again.status_code == 200:
            return int(again.json()["generation"])
        raise _error(created, f"creating resource provider {name} ({rp_uuid})")

    def delete_resource_provider(self, rp_uuid: uuid.UUID) -> None:
        self._request("DELETE", f"resource_providers/{rp_uuid}", ok=(204, 404))

    def set_inventory(
        self, rp_uuid: uuid.UUID, inventories: dict[str, dict[str, int | float]]
    ) -> None:
        """Make ``inventories`` the provider's whole inventory."""
        wanted = {rc: _INVENTORY_DEFAULTS | dict(inv) for rc, inv in inventories.items()}
        path = f"resource_providers/{rp_uuid}/inventories"
        for attempt in range(RETRIES):
            _pause(attempt)
            current = self._request("GET", path).json()
            if current["inventories"] == wanted:
                return
            body = {"inventories": wanted,
                    "resource_provider_generation": current["resource_provider_generation"]}
            response = self._request("PUT", path, json=body, ok=(200, 409))
            if response.status_code == 200:
                return
            _raise_unless_generation_conflict(response, f"setting inventory of {rp_uuid}")
        raise PlacementError(f"inventory of {rp_uuid} kept changing; gave up", status=409)

    def set_traits(self, rp_uuid: uuid.UUID, traits: list[str],
                   keep: frozenset[str] = frozenset({COMPUTE_STATUS_DISABLED})) -> None:
        """Make ``traits`` the provider's traits, creating CUSTOM_ ones as needed.

        Traits in ``keep`` the provider already has stay: others manage them (an
        operator's disabled host stays disabled when its agent restarts).
        """
        for name in sorted(set(traits)):
            if name.startswith("CUSTOM_"):
                self._request("PUT", f"traits/{name}", ok=(201, 204))
        path = f"resource_providers/{rp_uuid}/traits"
        for attempt in range(RETRIES):
            _pause(attempt)
            current = self._request("GET", path).json()
            wanted = set(traits) | (keep & set(current["traits"]))
            if set(current["traits"]) == wanted:
                return
            body = {"traits": sorted(wanted),
                    "resource_provider_generation": current["resource_provider_generation"]}
            response = self._request("PUT", path, json=body, ok=(200, 409))
            if response.status_code == 200:
                return
            _raise_unless_generation_conflict(response, f"setting traits of {rp_uuid}")
        raise PlacementError(f"traits of {rp_uuid} kept changing; gave up", status=409)

    def change_traits(self, rp_uuid: uuid.UUID, add: tuple[str, ...] = (),
                      remove: tuple[str, ...] = ()) -> None:
        """Add and remove some traits, keeping the others (whoever set them)."""
        self._change_set(f"resource_providers/{rp_uuid}/traits", "traits", add, remove)

    def change_aggregates(self, rp_uuid: uuid.UUID, add: tuple[str, ...] = (),
                          remove: tuple[str, ...] = ()) -> None:
        """Add and remove aggregate memberships, keeping the others."""
        self._change_set(f"resource_providers/{rp_uuid}/aggregates", "aggregates", add,
                         remove)

    def _change_set(self, path: str, key: str, add: tuple[str, ...],
                    remove: tuple[str, ...]) -> None:
        for attempt in range(RETRIES):
            _pause(attempt)
            current = self._request("GET", path).json()
            wanted = (set(current[key]) | set(add)) - set(remove)
            if wanted == set(current[key]):
                return
            body = {key: sorted(wanted),
                    "resource_provider_generation": current["resource_provider_generation"]}
            response = self._request("PUT", path, json=body, ok=(200, 409))
            if response.status_code == 200:
                return
            _raise_unless_generation_conflict(response, f"changing {key} of {path}")
        raise PlacementError(f"{key} of {path} kept changing; gave up", status=409)

    # -- candidates and allocations ---------------------------------------------------

    def allocation_candidates(
        self, resources: dict[str, int], limit: int | None = None,
        required: list[str] | None = None, member_of: list[str] | None = None,
        in_tree: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        """The raw GET /allocation_candidates body.

        ``required`` traits must all be present (``!NAME`` forbids one); each item of
        ``member_of`` is one member_of value (an aggregate uuid, ``in:a,b`` or ``!a``).
        """
        params: list[tuple[str, str]] = [
            ("resources", ",".join(f"{rc}:{amount}" for rc, amount in resources.items()))
        ]
        if limit is not None:
            params.append(("limit", str(limit)))
        if required:
            params.append(("required", ",".join(required)))
        params += [("member_of", value) for value in member_of or []]
        if in_tree is not None:
            params.append(("in_tree", str(in_tree)))
        result: dict[str, Any] = self._request(
            "GET", "allocation_candidates", params=params
        ).json()
        return result

    def allocation_candidates_query(self, params: list[tuple[str, str]]) -> dict[str, Any]:
        """GET /allocation_candidates with a query built by the caller (granular groups).

        Raises PlacementError (400) when placement refuses the query.
        """
        # orjson: a thousand candidates are a large body, parsed once per decision.
        result: dict[str, Any] = orjson.loads(
            self._request("GET", "allocation_candidates", params=params).content)
        return result

    def claim(
        self, consumer_uuid: uuid.UUID, allocations: dict[str, dict[str, int]],
        project_id: str, user_id: str, consumer_generation: int | None = None,
    ) -> bool:
        """Replace the consumer's allocations. False on a conflict (capacity, generation)."""
        body = {
            "allocations": {rp: {"resources": res} for rp, res in allocations.items()},
            "project_id": project_id,
            "user_id": user_id,
            "consumer_generation": consumer_generation,
            "consumer_type": INSTANCE_CONSUMER_TYPE,
        }
        response = self._request("PUT", f"allocations/{consumer_uuid}", json=body, ok=(204, 409))
        if response.status_code == 409:
            LOG.info("claim for %s refused: %s", consumer_uuid, _detail(response))
            return False
        return True

    def get_allocations(self, consumer_uuid: uuid.UUID) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"allocations/{consumer_uuid}").json()
        return result

    def delete_allocations(self, consumer_uuid: uuid.UUID) -> None:
        self._request("DELETE", f"allocations/{consumer_uuid}", ok=(204, 404))

    def release(self, consumer_uuid: uuid.UUID, generation: int, project_id: str,
                user_id: str, consumer_type: str = INSTANCE_CONSUMER_TYPE) -> bool:
        """Give every allocation of the consumer back if it is still at ``generation``.

        False when the consumer changed since (someone else replaced or released its
        allocations): nothing is written then.
        """
        body = {str(consumer_uuid): {
            "allocations": {}, "project_id": project_id, "user_id": user_id,
            "consumer_generation": generation, "consumer_type": consumer_type}}
        response = self._request("POST", "allocations", json=body, ok=(204, 409))
        if response.status_code == 409:
            LOG.info("release of %s refused: %s", consumer_uuid, _detail(response))
            return False
        return True

    def move_allocations(self, source: uuid.UUID, target: uuid.UUID, project_id: str,
                         user_id: str, target_type: str = INSTANCE_CONSUMER_TYPE
                         ) -> dict[str, dict[str, int]]:
        """Give ``source``'s allocations to ``target`` in one POST /allocations.

        Whatever ``target`` held is replaced and ``source`` ends with nothing (a move's
        migration record takes the source host's share, or hands it back). Returns
        the allocations moved (empty: ``source`` held none, nothing was written).
        Generation conflicts are retried.
        """
        for attempt in range(RETRIES):
            _pause(attempt)
            held = self.get_allocations(source)
            moved = {rp: dict(a["resources"]) for rp, a in held.get("allocations", {}).items()}
            if not moved:
                return {}
            other = self.get_allocations(target)
            body = {
                str(target): {"allocations": {rp: {"resources": r} for rp, r in moved.items()},
                              "project_id": project_id, "user_id": user_id,
                              "consumer_generation": other.get("consumer_generation"),
                              "consumer_type": target_type},
                str(source): {"allocations": {}, "project_id": project_id,
                              "user_id": user_id,
                              "consumer_generation": held.get("consumer_generation"),
                              "consumer_type": held.get("consumer_type",
                                                        INSTANCE_CONSUMER_TYPE)},
            }
            response = self._request("POST", "allocations", json=body, ok=(204, 409))
            if response.status_code == 204:
                return moved
            _raise_unless_generation_conflict(response, f"moving allocations of {source}")
        raise PlacementError(f"allocations of {source} kept changing; gave up", status=409)

    # -- usages -------------------------------------------------------------------------

    def provider_usages(self, rp_uuid: uuid.UUID) -> dict[str, int]:
        usages: dict[str, int] = self._request(
            "GET", f"resource_providers/{rp_uuid}/usages").json()["usages"]
        return usages

    def project_usages(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        params = {"project_id": project_id} | ({"user_id": user_id} if user_id else {})
        usages: dict[str, int] = self._request(
            "GET", "usages", params=params,
            headers={"OpenStack-API-Version": f"placement {FLAT_USAGES_VERSION}"},
        ).json()["usages"]
        return usages

    def capacity_report(self, resource_classes: list[str]) -> list[dict[str, Any]]:
        """Free amount of the classes on every provider having any of them."""
        report = []
        wanted = set(resource_classes)
        for provider in self._request("GET", "resource_providers").json()["resource_providers"]:
            base = f"resource_providers/{provider['uuid']}"
            inventories = self._request("GET", f"{base}/inventories").json()["inventories"]
            classes = wanted & set(inventories)
            if not classes:
                continue
            used = self._request("GET", f"{base}/usages").json()["usages"]
            free = {
                rc: int((inventories[rc]["total"] - inventories[rc]["reserved"])
                        * inventories[rc]["allocation_ratio"]) - used.get(rc, 0)
                for rc in sorted(classes)
            }
            report.append({"uuid": provider["uuid"], "name": provider["name"], "free": free})
        return report

    # -- plumbing -----------------------------------------------------------------------

    def _request(
        self, method: str, path: str, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> httpx.Response:
        deadline = time.monotonic() + UNAVAILABLE_PATIENCE
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(
                    f"placement at {self.base_url} is unreachable ({method} {path}): {exc}"
                ) from exc
            pause = _retry_after(response)
            if (response.status_code != 503 or method not in REPEATABLE
                    or time.monotonic() + pause > deadline):
                break
            LOG.info("placement unavailable for %s %s; asking again in %.1f s", method,
                     path, pause)
            time.sleep(pause)
        if response.status_code >= 500:
            raise ServiceUnavailable(
                f"placement at {self.base_url} failed ({method} {path}): "
                f"HTTP {response.status_code} {_detail(response)}"
            )
        if response.status_code not in ok:
            raise _error(response, f"{method} {path}")
        return response


def _pause(attempt: int) -> None:
    if attempt:
        time.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)))


def _retry_after(response: httpx.Response) -> float:
    """The pause a 503 asks for, kept between 0.1 and 2 seconds (1 if it names none)."""
    try:
        return min(max(float(response.headers.get("Retry-After", 1)), 0.1), 2.0)
    except ValueError:
        return 1.0


def _detail(response: httpx.Response) -> str:
    try:
        error = response.json()["errors"][0]
        return f"{error.get('code', '')}: {error.get('detail', '')}".strip(": ")
    except (ValueError, KeyError, IndexError, TypeError):
        return response.text[:500]


def _code(response: httpx.Response) -> str | None:
    try:
        code = response.json()["errors"][0].get("code")
        return str(code) if code else None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def _error(response: httpx.Response, doing: str) -> PlacementError:
    return PlacementError(
        f"placement refused {doing}: HTTP {response.status_code} {_detail(response)}",
        status=response.status_code, code=_code(response),
    )


def _raise_unless_generation_conflict(response: httpx.Response, doing: str) -> None:
    if _code(response) != CONCURRENT_UPDATE:
        raise _error(response, doing)
