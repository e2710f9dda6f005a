"""The scheduler's claim ledger: shared answers, unseen claims, forgetting."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from scheduler.ledger import ClaimLedger, Pending, placed_hosts, subtract
from scheduler.select import Candidate, HostState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _cand(host: str, free_ram: float, instances: int = 0) -> Candidate:
    rp = uuid.uuid5(uuid.NAMESPACE_DNS, host)
    state = HostState(host, host, rp, True, False, {"MEMORY_MB": free_ram, "VCPU": 4.0},
                      {"MEMORY_MB": 1024.0, "VCPU": 4.0}, num_instances=instances)
    return Candidate(state, {str(rp): {"MEMORY_MB": 256, "VCPU": 1}})


def _pending(cand: Candidate, group: uuid.UUID | None = None) -> Pending:
    return Pending(uuid.uuid4(), cand.state.rp_uuid, cand.state.host,
                   {"MEMORY_MB": 256, "VCPU": 1}, group)


def test_overlapping_identical_reads_share_one_request_and_different_ones_do_not() -> None:
    ledger = ClaimLedger()
    calls: list[str] = []
    release = threading.Event()

    def read(tag: str) -> str:
        calls.append(tag)
        release.wait(5)
        return tag

    seen: list[tuple[str, float]] = []

    def decide(key: str) -> None:
        with ledger.view(key, lambda: read(key)) as view:
            seen.append((view.value, view.started))

    threads = [threading.Thread(target=decide, args=(k,)) for k in ("a", "a", "a", "b")]
    for t in threads:
        t.start()
    time.sleep(0.2)
    release.set()
    for t in threads:
        t.join(5)
    assert sorted(calls) == ["a", "b"]
    assert sorted(v for v, _ in seen) == ["a", "a", "a", "b"]
    assert len({s for v, s in seen if v == "a"}) == 1  # one answer, one start time
    # Finished reads are not reused: the next decision asks again.
    with ledger.view("a", lambda: read("a2")) as view:
        assert view.value == "a2"


def test_a_failed_shared_read_fails_every_decision_that_waited_for_it() -> None:
    ledger = ClaimLedger()
    gate = threading.Event()
    errors: list[BaseException] = []

    def read() -> str:
        gate.wait(5)
        raise RuntimeError("placement away")

    def decide() -> None:
        try:
            with ledger.view("k", read):
                pass
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=decide) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert len(errors) == 3


def test_unseen_holds_claims_in_flight_and_those_settled_after_the_answer_began() -> None:
    clock = Clock()
    ledger = ClaimLedger(clock)
    a, b, c = (_pending(_cand(h, 1024)) for h in ("h1", "h2", "h3"))
    with ledger.lock:
        ledger.hold(a)
        ledger.hold(b)
    ledger.settle(a.instance)               # settled at 101, nobody reading: forgotten
    assert len(ledger) == 1
    with ledger.view("k", lambda: None) as view:   # answer begun at 102
        with ledger.lock:
            ledger.hold(c)
        ledger.settle(c.instance)           # 103: after the answer began
        with ledger.lock:
            unseen = {p.instance for p in ledger.unseen(view.started)}
        assert unseen == {b.instance, c.instance}
    # Nobody reads any more: c is shown by every later answer; b is still in flight.
    assert len(ledger) == 1
    with ledger.view("k", lambda: None) as view, ledger.lock:
        assert [p.instance for p in ledger.unseen(view.started)] == [b.instance]
    ledger.drop(b.instance)
    assert len(ledger) == 0


def test_subtract_takes_unseen_claims_off_their_hosts_and_marks_the_full_ones() -> None:
    h1, h2, h3 = _cand("h1", 1024, 3), _cand("h2", 300), _cand("h3", 512)
    unseen = [_pending(h1), _pending(h1), _pending(h2)]
    out, full = subtract([h1, h2, h3], unseen, {"MEMORY_MB": 256, "VCPU": 1})
    by_host = {c.state.host: c.state for c in out}
    assert by_host["h1"].free["MEMORY_MB"] == 512 and by_host["h1"].num_instances == 5
    assert by_host["h1"].free["VCPU"] == 2
    assert by_host["h2"].free["MEMORY_MB"] == 44
    assert by_host["h3"] is h3.state
    assert full == {h2.state.rp_uuid}
    # The answer itself is not changed (other decisions share it).
    assert h1.state.free["MEMORY_MB"] == 1024


def test_placed_hosts_joins_placement_with_claims_it_may_not_show() -> None:
    h1, h2 = _cand("h1", 1024), _cand("h2", 1024)
    group = uuid.uuid4()
    known, fresh, stranger = _pending(h1, group), _pending(h2, group), _pending(h2)
    placed = {known.instance: {"h1"}}
    where = placed_hosts(placed, [known, fresh, stranger], {known.instance, fresh.instance})
    assert where == {known.instance: {"h1"}, fresh.instance: {"h2"}}


@pytest.mark.parametrize("threads", [8])
def test_concurrent_decisions_each_see_the_claims_of_the_others(threads: int) -> None:
    """Decisions that share one answer and choose the emptiest host spread evenly."""
    ledger = ClaimLedger()
    hosts = [_cand(f"h{i}", 1024) for i in range(4)]
    gate = threading.Barrier(threads)
    chosen: list[str] = []

    def decide() -> None:
        gate.wait(5)
        with ledger.view("k", lambda: (time.sleep(0.1), hosts)[1]) as view, ledger.lock:
            cands, _ = subtract(view.value, ledger.unseen(view.started),
                                {"MEMORY_MB": 256})
            best = max(cands, key=lambda c: (c.state.free["MEMORY_MB"], c.state.host))
            ledger.hold(_pending(best))
            chosen.append(best.state.host)

    workers = [threading.Thread(target=decide) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(5)
    assert sorted(chosen) == sorted([f"h{i}" for i in range(4)] * 2)
