"""The claims a scheduler made that placement's answers may not show yet.

Decisions run side by side; none holds a lock across a network call. Each decision reads
placement's candidates (an answer begun at a known moment), then, under the ledger's
short in-memory lock, takes away what the claims it cannot have seen hold: claims still
in flight, and claims settled after its answer began. It chooses, writes its own pending
claim down, and leaves the lock before claiming. Two decisions of one scheduler therefore
never both take the last room on a host, nor both pick the emptiest host of a burst.

Placement's own checks stay the safety net: a claim over capacity is refused there and
the decision tries its next host. Group policies are also checked after the claim, against
placement (other scheduler processes have ledgers of their own).

Identical candidate reads that overlap share one request (a burst of one flavor asks
placement once); each decision still subtracts what its shared answer cannot show.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from scheduler.select import Candidate

T = TypeVar("T")


@dataclass
class Pending:
    instance: uuid.UUID
    rp: uuid.UUID
    host: str
    resources: dict[str, int]
    group: uuid.UUID | None = None
    # When placement confirmed the claim (monotonic); None while it is in flight.
    settled_at: float | None = None


@dataclass
class _Flight(Generic[T]):
    started: float
    done: threading.Event = field(default_factory=threading.Event)
    value: T | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class View(Generic[T]):
    """A (possibly shared) answer and the moment it was begun."""

    value: T
    started: float


class ClaimLedger:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.lock = threading.Lock()
        self._clock = clock
        self._pending: dict[uuid.UUID, Pending] = {}
        # Start times of the answers decisions are still using, with their users.
        self._readers: Counter[float] = Counter()
        self._flights: dict[Hashable, _Flight[object]] = {}

    # -- answers -----------------------------------------------------------------------

    @contextmanager
    def view(self, key: Hashable, read: Callable[[], T]) -> Iterator[View[T]]:
        """The answer of ``read``, shared with any identical read still in flight.

        Held open while the decision chooses: the claims settled after the answer began
        stay in the ledger until every decision using it is done.
        """
        with self.lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = _Flight(self._clock())
                self._flights[key] = flight
            self._readers[flight.started] += 1
        try:
            if leader:
                try:
                    flight.value = read()
                except BaseException as exc:
                    flight.error = exc
                    raise
                finally:
                    with self.lock:
                        self._flights.pop(key, None)
                    flight.done.set()
            else:
                flight.done.wait()
                if flight.error is not None:
                    raise flight.error
            yield View(flight.value, flight.started)  # type: ignore[arg-type]
        finally:
            with self.lock:
                self._readers[flight.started] -= 1
                if self._readers[flight.started] <= 0:
                    del self._readers[flight.started]
                self._prune()

    # -- claims ------------------------------------------------------------------------

    def unseen(self, since: float) -> list[Pending]:
        """Claims an answer begun at ``since`` may not show. Hold ``lock``."""
        return [p for p in self._pending.values()
                if p.settled_at is None or p.settled_at >= since]

    def hold(self, pending: Pending) -> None:
        """Write down a claim about to be made. Hold ``lock``."""
        self._pending[pending.instance] = pending

    def settle(self, instance: uuid.UUID) -> None:
        """Placement took the claim: answers begun from now on show it."""
        with self.lock:
            entry = self._pending.get(instance)
            if entry is not None:
                entry.settled_at = self._clock()
            self._prune()

    def drop(self, instance: uuid.UUID) -> None:
        """The claim was refused or given back."""
        with self.lock:
            self._pending.pop(instance, None)

    def __len__(self) -> int:
        return len(self._pending)

    def _prune(self) -> None:
        """Forget settled claims every answer in use already shows. Hold ``lock``."""
        oldest = min(self._readers, default=None)
        stale = [i for i, p in self._pending.items() if p.settled_at is not None
                 and (oldest is None or p.settled_at < oldest)]
        for instance in stale:
            del self._pending[instance]


def subtract(candidates: list[Candidate], unseen: list[Pending],
             requested: dict[str, int]) -> tuple[list[Candidate], set[uuid.UUID]]:
    """The candidates with the unseen claims taken off their hosts, and the providers
    those claims left without room for ``requested``.

    A host left without room is tried last rather than never: the ledger may count a
    claim the answer already showed, and placement has the last word.
    """
    if not unseen:
        return candidates, set()
    by_rp: dict[uuid.UUID, list[Pending]] = {}
    for entry in unseen:
        by_rp.setdefault(entry.rp, []).append(entry)
    out: list[Candidate] = []
    full: set[uuid.UUID] = set()
    for cand in candidates:
        entries = by_rp.get(cand.state.rp_uuid)
        if not entries:
            out.append(cand)
            continue
        free = dict(cand.state.free)
        for entry in entries:
            for rc, amount in entry.resources.items():
                if rc in free:
                    free[rc] -= amount
        state = replace(cand.state, free=free,
                        num_instances=cand.state.num_instances + len(entries))
        out.append(Candidate(state, cand.allocations))
        if any(free[rc] < amount for rc, amount in requested.items() if rc in free):
            full.add(cand.state.rp_uuid)
    return out, full


def placed_hosts(placed: dict[uuid.UUID, set[str]], unseen: list[Pending],
                 servers: set[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """Where each of ``servers`` is, from placement, joined with this scheduler's claims
    for them that placement may not show yet."""
    out = {server: set(hosts) for server, hosts in placed.items() if server in servers}
    for entry in unseen:
        if entry.instance in servers:
            out.setdefault(entry.instance, set()).add(entry.host)
    return out
