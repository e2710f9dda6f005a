"""The scheduler's work: ask placement, filter and weigh, claim the winner."""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from common.compute_db import queries
from common.compute_db.models import ComputeNode
from common.db import read_only, transaction, utcnow
from common.errors import ControlPlaneError, NoValidHost, PlacementError
from common.messages import HostSelection, RequestSpec
from common.settings import Settings
from placement.client import COMPUTE_STATUS_DISABLED, MIGRATION_CONSUMER_TYPE, PlacementClient
from scheduler.filters import build_filters, requested_zone
from scheduler.hosts import (
    HostInfo,
    build_candidates,
    candidate_providers,
    group_members,
    hosts_of_providers,
    load_hosts,
    recent_failures,
    requested_nodes,
    zone_aggregates,
)
from scheduler.ledger import ClaimLedger, Pending, placed_hosts, subtract
from scheduler.query import PlacementQuery, build_query
from scheduler.select import Candidate, Weigher, select_hosts
from scheduler.weighers import (
    BuildFailureWeigher,
    CpuWeigher,
    DiskWeigher,
    NumInstancesWeigher,
    RamWeigher,
    SoftAffinityWeigher,
    SoftAntiAffinityWeigher,
)

LOG = logging.getLogger(__name__)

COMPUTE_SERVICE = "kilonova-compute"

CLAIM_ROUNDS = 3
# Extra rounds for a hard group's member whose claim met a concurrent member's.
GROUP_ROUNDS = 10
# The consumer generation of a claim just made: a hard group member's claim at this
# generation has not passed its group check yet (SchedulerManager._checked).
PENDING = 1
# Seconds a claim may stay pending, unchanged, before another decision of its build takes
# it for abandoned (its maker settles or gives it back within a decision's time).
PENDING_WAIT = 30.0
# How long the recent failed builds per host are reused (a reschedule, which follows a
# new failure, reads them again at once).
FAILURES_TTL = 5.0


class SchedulerManager:
    def __init__(self, sessions: sessionmaker[Session], placement: PlacementClient,
                 settings: Settings) -> None:
        self._sessions = read_only(sessions)
        self._placement = placement
        self._settings = settings
        cfg = settings.scheduler
        self._filters = build_filters(cfg.enabled_filters)
        self._weighers: list[Weigher] = [
            RamWeigher(cfg.ram_weight_multiplier), CpuWeigher(cfg.cpu_weight_multiplier),
            DiskWeigher(cfg.disk_weight_multiplier),
            NumInstancesWeigher(cfg.num_instances_weight_multiplier),
            BuildFailureWeigher(cfg.build_failure_weight_multiplier),
            SoftAffinityWeigher(cfg.soft_affinity_weight_multiplier),
            SoftAntiAffinityWeigher(cfg.soft_anti_affinity_weight_multiplier),
        ]
        # The claims of decisions in flight, so concurrent ones see each other's.
        self._ledger = ClaimLedger()
        # Hosts of equal weight in an order of this process's own: two schedulers that
        # see the same empty hosts pick different ones instead of the same first.
        salt = random.getrandbits(64).to_bytes(8, "big")
        self._tie_break: Callable[[str], str] = (
            functools.lru_cache(maxsize=65536)(functools.partial(_salted, salt))
            if cfg.shuffle_best_same_weighed_hosts else str)
        self._failures_read: tuple[float, dict[str, int]] = (-FAILURES_TTL, {})

    def select_destination(self, spec: RequestSpec, recover: bool = True) -> HostSelection:
        """Choose and claim a host for ``spec``. Raises NoValidHost with the reason.

        Decisions run concurrently; none holds a lock across a network call. The claim
        ledger makes each one see the claims of the others (scheduler/ledger.py).
        ``recover``: look for a claim an earlier ask made (a build); a move's instance
        holds none of its own (``claim_move``), and what it holds is not one.
        """
        query = self._query(spec)
        resources = query.resources()
        # A build never scheduled before holds no claim. Should two conductors have
        # driven it at once, the other's claim refuses ours and the look after the
        # round finds it.
        if recover and not spec.first_claim:
            held = self._claimed_before(spec, resources)
            if held is not None:
                return held
        rounds = CLAIM_ROUNDS + (GROUP_ROUNDS if self._hard_group(spec) else 0)
        for _ in range(rounds):
            decided = self._decide(spec, query, resources)
            if decided is not None:
                return decided
            held = self._claimed_before(spec, resources) if recover else None
            if held is not None:  # another scheduler decided the same build meanwhile
                return held
            LOG.info("every claim for %s lost a race; retrying", spec.instance_uuid)
        raise NoValidHost(
            "No valid host was found. Every candidate host was claimed concurrently "
            f"{CLAIM_ROUNDS} times in a row."
        )

    def _decide(self, spec: RequestSpec, query: PlacementQuery, resources: dict[str, int]
                ) -> HostSelection | None:
        """One round: choose hosts in order and claim the first that takes it.

        None when every claim lost a race or a concurrent group member broke the
        policy (the claim given back): the caller decides again.
        """
        ordered = self._choose(spec, query, resources)
        group = spec.group.id if spec.group is not None else None
        try:
            for i, cand in enumerate(ordered):
                if i:
                    with self._ledger.lock:
                        self._ledger.hold(self._pending(spec, cand, group))
                if not self._claim(spec, cand):
                    continue
                self._ledger.settle(spec.instance_uuid)
                if (self._hard_group(spec)
                        and not self._checked(spec, cand.state.host, cand.allocations,
                                              PENDING)):
                    # Another scheduler placed a member at the same time: the claim was
                    # given back; decide again, seeing that member this time.
                    self._ledger.drop(spec.instance_uuid)
                    time.sleep(random.uniform(0.05, 0.3))
                    return None
                LOG.info("claimed %s on %s for %s", cand.allocations, cand.state.host,
                         spec.instance_uuid)
                return HostSelection(
                    host=cand.state.host, nodename=cand.state.nodename,
                    compute_node_uuid=cand.state.rp_uuid, allocations=cand.allocations,
                )
        except BaseException:
            self._ledger.drop(spec.instance_uuid)
            raise
        self._ledger.drop(spec.instance_uuid)
        return None

    @staticmethod
    def _pending(spec: RequestSpec, cand: Candidate, group: uuid.UUID | None) -> Pending:
        rp = cand.state.rp_uuid
        return Pending(spec.instance_uuid, rp, cand.state.host,
                       dict(cand.allocations.get(str(rp), {})), group)

    def _choose(self, spec: RequestSpec, query: PlacementQuery, resources: dict[str, int]
                ) -> list[Candidate]:
        """The candidates in order of preference, the first written down in the ledger."""
        placed, members = self._neighbours(spec)
        if spec.ignore_hosts:
            self._failures_read = (-FAILURES_TTL, {})  # a build just failed somewhere
        params = self._candidate_params(spec, query)
        with self._ledger.view(tuple(params), lambda: self._read_candidates(params)) as view:
            if not view.value:
                raise NoValidHost(self._explain_no_candidates(query))
            with self._ledger.lock:
                unseen = self._ledger.unseen(view.started)
                candidates, full = subtract(view.value, unseen, resources)
                decided = self._with_neighbours(spec, placed, members, unseen)
                selection = select_hosts(decided, candidates, self._filters, self._weighers,
                                         self._tie_break)
                if not selection.ordered:
                    raise NoValidHost(
                        f"No valid host was found. {len(candidates)} hosts had room, "
                        f"filters removed them all: {selection.explain()}.")
                ordered = ([c for c in selection.ordered if c.state.rp_uuid not in full]
                           + [c for c in selection.ordered if c.state.rp_uuid in full])
                group = spec.group.id if spec.group is not None else None
                self._ledger.hold(self._pending(spec, ordered[0], group))
        return ordered

    def _await_heartbeats(self) -> bool:
        """Wait (bounded) while every compute host is silent at once; True if it waited.

        Hosts die one at a time; all of them missing their heartbeats together means the
        path heartbeats travel (the message bus, the database) failed and is coming back.
        Deciding then would find every host down and fail the build, so the decision
        waits for the first heartbeat, up to ``[scheduler] silent_hosts_wait`` seconds.
        Only asked when every candidate looks down, so a healthy decision reads nothing.
        """
        down_time = self._settings.service.service_down_time
        deadline = time.monotonic() + self._settings.scheduler.silent_hosts_wait
        waited = False
        while True:
            with transaction(self._sessions) as session:
                services = [s for s in queries.list_services(session, COMPUTE_SERVICE)
                            if not s.disabled and not s.forced_down]
                silent = bool(services) and not any(queries.is_up(s, down_time)
                                                    for s in services)
            if not silent or time.monotonic() >= deadline:
                return waited
            waited = True
            LOG.warning("every compute host's heartbeat has lapsed; waiting for them "
                        "before deciding")
            time.sleep(1.0)

    @staticmethod
    def _hard_group(spec: RequestSpec) -> bool:
        return spec.group is not None and spec.group.policy in ("affinity", "anti-affinity")

    def _group_holds(self, spec: RequestSpec, host: str) -> bool:
        """After the claim: does the server's hard group policy still hold on ``host``?

        Schedulers decide concurrently (no lock across processes), so two may place
        members of one group at once, each before seeing the other's claim. Checked
        after claiming, the later of two conflicting checks sees both claims, so at
        least one of them gives its claim back: the policy holds across schedulers.
        """
        if not self._hard_group(spec):
            return True
        assert spec.group is not None
        with transaction(self._sessions) as session:
            others = group_members(session, spec.group.id, spec.instance_uuid)
        placed = self._placed(others) if others else Counter()
        if spec.group.policy == "anti-affinity":
            holds = placed[host] < (spec.group.max_server_per_host or 1)
        else:
            holds = not (set(placed) - {host})
        if not holds:
            LOG.info("group %s policy %s broken by a concurrent decision on %s; deciding "
                     "%s again", spec.group.id, spec.group.policy, host, spec.instance_uuid)
        return holds

    def _checked(self, spec: RequestSpec, host: str,
                 allocations: dict[str, dict[str, int]], generation: int) -> bool:
        """Settle a hard group member's claim, seen at ``generation``: True if it stands.

        A claim is made at generation 1 (PENDING) and checked against the group's
        policy after it is written. One that holds is written again, which moves it to
        generation 2: checked, final, never given back. One that does not is given back
        only if still at the generation seen. Two decisions of one build (a conductor
        asking again while its first ask still runs) may check the same claim and
        disagree, one having seen a concurrent member the other missed; whichever
        writes first wins and the other's write is refused, so a claim one of them
        answered with is never taken away under it.
        """
        if generation > PENDING:
            return True
        consumer = spec.instance_uuid
        if self._group_holds(spec, host):
            if self._placement.claim(consumer, allocations, spec.project_id, spec.user_id,
                                     consumer_generation=generation):
                return True
        elif self._placement.release(consumer, generation, spec.project_id, spec.user_id):
            return False
        # Not written: settled by the other decision, given back (and perhaps claimed
        # again, pending, elsewhere), or refused for another reason (capacity changed).
        body = self._placement.get_allocations(consumer)
        held = {rp: dict(a.get("resources", {}))
                for rp, a in body.get("allocations", {}).items()}
        if held == allocations and body.get("consumer_generation") == generation:
            # Still ours and pending: the settling write was refused; give it back.
            self._placement.release(consumer, generation, spec.project_id, spec.user_id)
            return False
        return held == allocations and body.get("consumer_generation", 0) > PENDING

    def _claimed_before(self, spec: RequestSpec, resources: dict[str, int]
                        ) -> HostSelection | None:
        """The claim this build already holds, if an earlier answer was lost.

        A conductor that got no answer (broker outage, a conductor taking a build over)
        asks again for the same server: the same consumer holding the same resources on
        one compute node is that claim, answered again instead of claimed twice. A claim
        on a host the build must avoid, or of other resources, is given back; one still
        pending its group check is checked as a new claim is (``_checked``).
        """
        body = self._placement.get_allocations(spec.instance_uuid)
        if self._hard_group(spec) and body.get("consumer_generation") == PENDING:
            body = self._await_settled(spec.instance_uuid, body)
        held = body.get("allocations", {})
        if not held:
            return None
        generation = int(body.get("consumer_generation") or PENDING)
        node = None
        if len(held) == 1:
            rp, alloc = next(iter(held.items()))
            with transaction(self._sessions) as session:
                node = session.scalar(sa.select(ComputeNode).where(
                    ComputeNode.uuid == uuid.UUID(rp)))
                if node is not None:
                    session.expunge(node)
            if (node is not None and node.host not in spec.ignore_hosts
                    and dict(alloc.get("resources", {})) == resources):
                if self._hard_group(spec) and not self._checked(
                        spec, node.host, {rp: resources}, generation):
                    return None
                LOG.info("%s already holds its claim on %s", spec.instance_uuid, node.host)
                return HostSelection(host=node.host, nodename=node.hypervisor_hostname,
                                     compute_node_uuid=node.uuid,
                                     allocations={rp: resources})
        LOG.info("%s holds a claim that does not fit its build; giving it back",
                 spec.instance_uuid)
        self._placement.release(spec.instance_uuid, generation, spec.project_id,
                                spec.user_id)
        return None

    def _await_settled(self, consumer: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        """The consumer's allocations once its pending claim is settled or given back.

        A pending claim is its maker's to settle or give back (``_checked``): another
        decision acting on it could settle a claim given back and made again meanwhile
        (placement starts a consumer made again at generation 1 too). Only a claim left
        pending and unchanged for PENDING_WAIT seconds (its maker is gone) is returned
        pending, to be checked as a new one.
        """
        deadline = time.monotonic() + PENDING_WAIT
        while body.get("consumer_generation") == PENDING and time.monotonic() < deadline:
            time.sleep(0.2)
            seen = body
            body = self._placement.get_allocations(consumer)
            if body.get("allocations") != seen.get("allocations"):
                deadline = time.monotonic() + PENDING_WAIT  # a new pending claim
        return body

    def claim_move(self, spec: RequestSpec, migration_uuid: uuid.UUID,
                   forced: bool) -> HostSelection:
        """Claim a move's destination, the source's share moved to the migration first.

        Both are then held until the move is confirmed or reverted; on NoValidHost the
        share goes back to the instance. A forced host (2.30) skips filters.
        """
        self._placement.move_allocations(spec.instance_uuid, migration_uuid, spec.project_id,
                                         spec.user_id, target_type=MIGRATION_CONSUMER_TYPE)
        try:
            return (self._claim_forced_host(spec) if forced
                    else self.select_destination(spec, recover=False))
        except ControlPlaneError:
            self._placement.move_allocations(migration_uuid, spec.instance_uuid,
                                             spec.project_id, spec.user_id)
            raise

    def _claim_forced_host(self, spec: RequestSpec) -> HostSelection:
        """Claim on the host a move was forced to (2.30): no filters, no weighing.

        Raises NoValidHost if the host has no compute node or no room.
        """
        host = spec.requested_host or ""
        with transaction(self._sessions) as session:
            node = queries.compute_node_of_host(session, host)
            if node is not None:
                session.expunge(node)
        if node is None:
            raise NoValidHost(f"No valid host was found. Host {host} has no compute node.")
        resources = self._query(spec).resources()
        allocations = {str(node.uuid): resources}
        if not self._placement.claim(spec.instance_uuid, allocations, spec.project_id,
                                     spec.user_id):
            raise NoValidHost(f"No valid host was found. Host {host} has no room for "
                              f"{resources}.")
        return HostSelection(host=host, nodename=node.hypervisor_hostname,
                             compute_node_uuid=node.uuid, allocations=allocations)

    def _placed(self, servers: list[uuid.UUID]) -> Counter[str]:
        """Where these servers hold resources right now: servers per host."""
        counts: Counter[str] = Counter()
        for hosts in self._placed_by_server(servers).values():
            counts.update(hosts)
        return counts

    def _placed_by_server(self, servers: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
        """Where each of these servers holds resources right now (from placement).

        Placement, not the instance records, is the truth here: a claim made a moment
        ago by a scheduler is there before the conductor records the host.
        """
        providers: dict[uuid.UUID, set[uuid.UUID]] = {}
        for server in servers:
            body = self._placement.get_allocations(server)
            providers[server] = {uuid.UUID(rp) for rp in body.get("allocations", {})}
        if not providers:
            return {}
        with transaction(self._sessions) as session:
            hosts = hosts_of_providers(session, set().union(*providers.values()))
        return {server: {hosts[rp] for rp in rps if rp in hosts}
                for server, rps in providers.items()}

    def _neighbours(self, spec: RequestSpec
                    ) -> tuple[dict[uuid.UUID, set[str]], set[uuid.UUID]]:
        """Where the servers the request names (group members, same/different host) are,
        and which of them are the group's members.

        Members are read now, not taken from the spec: the conductor built the spec
        before the burst's other members existed.
        """
        members: set[uuid.UUID] = set()
        if spec.group is not None:
            with transaction(self._sessions) as session:
                members = set(group_members(session, spec.group.id, spec.instance_uuid))
        servers = members | set(spec.same_host) | set(spec.different_host)
        return (self._placed_by_server(sorted(servers)) if servers else {}), members

    @staticmethod
    def _with_neighbours(spec: RequestSpec, placed: dict[uuid.UUID, set[str]],
                         members: set[uuid.UUID], unseen: list[Pending]) -> RequestSpec:
        """``spec`` with its neighbours' hosts, this scheduler's pending claims included."""
        update: dict[str, object] = {}
        if spec.group is not None:
            members = members | {p.instance for p in unseen if p.group == spec.group.id
                                 and p.instance != spec.instance_uuid}
            counts: Counter[str] = Counter()
            for hosts in placed_hosts(placed, unseen, members).values():
                counts.update(hosts)
            update["group_hosts"] = dict(counts)
        for field_name, servers in (("same_hosts", spec.same_host),
                                    ("different_hosts", spec.different_host)):
            if servers:
                where = placed_hosts(placed, unseen, set(servers))
                update[field_name] = sorted(set().union(*where.values()) if where else set())
        return spec.model_copy(update=update) if update else spec

    def _query(self, spec: RequestSpec) -> PlacementQuery:
        """The placement query of ``spec``, its zone narrowed to the zone's aggregates."""
        zone = requested_zone(spec)
        aggregates: list[uuid.UUID] = []
        if zone is not None:
            with transaction(self._sessions) as session:
                aggregates = zone_aggregates(session, zone)
        return build_query(spec, aggregates)

    def _candidate_params(self, spec: RequestSpec, query: PlacementQuery
                          ) -> list[tuple[str, str]]:
        return list(query.params(limit=self._settings.scheduler.candidate_limit,
                                 in_tree=self._requested_tree(spec),
                                 forbid=[COMPUTE_STATUS_DISABLED]))

    def _read_candidates(self, params: list[tuple[str, str]]) -> list[Candidate]:
        """Placement's candidates joined with their hosts' health and load."""
        try:
            body = self._placement.allocation_candidates_query(params)
        except PlacementError as exc:
            if exc.kwargs.get("status") != 400:
                raise
            # A flavor asking for an unknown resource class or trait: no host has it.
            raise NoValidHost(f"No valid host was found. {exc.message}") from None
        hosts = self._load_hosts(body)
        if hosts and not any(h.up for h in hosts.values()) and self._await_heartbeats():
            hosts = self._load_hosts(body)
        return build_candidates(body, hosts)

    def _load_hosts(self, body: dict[str, Any]) -> dict[uuid.UUID, HostInfo]:
        cfg = self._settings
        with transaction(self._sessions) as session:
            return load_hosts(session, candidate_providers(body),
                              cfg.service.service_down_time, self._failures(session))

    def _failures(self, session: Session) -> dict[str, int]:
        """Recent failed builds per host, read at most every ``FAILURES_TTL`` seconds:
        they only weigh hosts, and a scan per decision costs more than they are worth."""
        read_at, failures = self._failures_read
        now = time.monotonic()
        if now - read_at >= FAILURES_TTL:
            window = timedelta(seconds=self._settings.scheduler.build_failure_window)
            failures = recent_failures(session, utcnow() - window)
            self._failures_read = (now, failures)
        return failures

    def _requested_tree(self, spec: RequestSpec) -> uuid.UUID | None:
        """The compute node a requested destination names, if it names exactly one.

        Asking placement for that tree only keeps the candidate limit from cutting
        the requested host out of the answer.
        """
        if spec.requested_host is None and spec.requested_node is None:
            return None
        with transaction(self._sessions) as session:
            nodes = requested_nodes(session, spec.requested_host, spec.requested_node)
        return nodes[0] if len(nodes) == 1 else None

    def _claim(self, spec: RequestSpec, cand: Candidate) -> bool:
        return bool(self._placement.claim(
            spec.instance_uuid, cand.allocations, spec.project_id, spec.user_id,
            consumer_generation=None,
        ))

    def _explain_no_candidates(self, query: PlacementQuery) -> str:
        resources = query.resources()
        if not query.is_plain():
            wanted = ", ".join(f"{rc}:{n}" for rc, n in sorted(resources.items()))
            return (f"No valid host was found. No host has {wanted} free with "
                    f"{query.describe()}.")
        report = self._placement.capacity_report(list(resources))
        return explain_capacity(resources, report)


def _salted(salt: bytes, host: str) -> str:
    return hashlib.blake2b(host.encode(), key=salt, digest_size=8).hexdigest()


def explain_capacity(resources: dict[str, int], report: list[dict[str, Any]]) -> str:
    """Say which resource no host has enough of, e.g. 'MEMORY_MB: need 65536, ...'."""
    if not report:
        return "No valid host was found. There are no compute hosts with resources."
    short = []
    for rc, need in resources.items():
        free = [p["free"].get(rc, 0) for p in report if rc in p["free"]]
        largest = max(free, default=0)
        if largest < need:
            short.append(f"{rc}: need {need}, largest free {largest:g} on {len(report)} hosts")
    if short:
        return "No valid host was found. " + "; ".join(short)
    wanted = ", ".join(f"{rc}:{n}" for rc, n in resources.items())
    return (f"No valid host was found. No single host among {len(report)} has "
            f"{wanted} free at once.")
