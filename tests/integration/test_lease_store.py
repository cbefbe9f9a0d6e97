"""The training lease on the real SQLite and Postgres stores: acquire, refuse, expire, take over."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from store import lease as leases
from store import runs

T0 = datetime(2026, 3, 6, 23, 30, tzinfo=timezone.utc)
AAPL = leases.training_lease("AAPL")


def test_first_caller_gets_the_lease_second_is_refused(engine):
    leases.acquire(engine, holder="a", now=T0, ttl_s=60, name=AAPL)
    with pytest.raises(leases.LeaseBusy) as refused:
        leases.acquire(engine, holder="b", now=T0 + timedelta(seconds=30), ttl_s=60, name=AAPL)
    # Refused, and told who holds it since when.
    assert "held by a since 2026-03-06 23:30:00 UTC" in str(refused.value)
    assert leases.current_lease(engine, AAPL).holder == "a"


def test_refusal_names_the_run_in_progress(engine):
    run_id = runs.start_run(engine, ticker="AAPL", trigger="manual", requested_by="alice", action="retrain", now=T0)
    leases.acquire(engine, holder="a", now=T0, ttl_s=60, name=AAPL)
    leases.attach_run(engine, holder="a", run_id=run_id, name=AAPL)
    with pytest.raises(leases.LeaseBusy) as refused:
        leases.acquire(engine, holder="b", now=T0, ttl_s=60, name=AAPL)
    msg = str(refused.value)
    assert f"run #{run_id}" in msg and "alice" in msg and "of AAPL started 2026-03-06 23:30:00 UTC" in msg


def test_leases_of_different_tickers_are_independent(engine):
    """One training per ticker: AAPL held does not block MSFT, but does block a second AAPL."""
    leases.acquire(engine, holder="a", now=T0, ttl_s=60, name=AAPL)
    assert leases.acquire(engine, holder="b", now=T0, ttl_s=60, name=leases.training_lease("msft")).holder == "b"
    with pytest.raises(leases.LeaseBusy):
        leases.acquire(engine, holder="c", now=T0, ttl_s=60, name=leases.training_lease(" aapl "))
    assert leases.current_lease(engine, "training:MSFT").holder == "b"


def test_expired_lease_is_taken_over(engine):
    leases.acquire(engine, holder="dead", now=T0, ttl_s=60, name=AAPL)
    info = leases.acquire(engine, holder="b", now=T0 + timedelta(seconds=61), ttl_s=60, name=AAPL)
    assert info.holder == "b"
    # The dead holder can neither renew nor release what it lost.
    assert not leases.renew(engine, holder="dead", now=T0 + timedelta(seconds=62), ttl_s=60, name=AAPL)
    assert not leases.release(engine, holder="dead", name=AAPL)
    assert leases.current_lease(engine, AAPL).holder == "b"


def test_renewal_keeps_the_lease_past_its_first_expiry(engine):
    leases.acquire(engine, holder="a", now=T0, ttl_s=60, name=AAPL)
    assert leases.renew(engine, holder="a", now=T0 + timedelta(seconds=50), ttl_s=60, name=AAPL)
    with pytest.raises(leases.LeaseBusy):
        leases.acquire(engine, holder="b", now=T0 + timedelta(seconds=100), ttl_s=60, name=AAPL)


def test_release_frees_the_lease_at_once(engine):
    leases.acquire(engine, holder="a", now=T0, ttl_s=60, name=AAPL)
    assert leases.release(engine, holder="a", name=AAPL)
    assert leases.acquire(engine, holder="b", now=T0, ttl_s=60, name=AAPL).holder == "b"


def test_racing_threads_exactly_one_wins(engine):
    """Eight callers at once, through separate connections: one lease, seven refusals."""
    barrier = threading.Barrier(8)
    results: list[str] = []

    def contend(i: int) -> None:
        barrier.wait()
        try:
            leases.acquire(engine, holder=f"h{i}", now=T0, ttl_s=60, name=AAPL)
            results.append("won")
        except leases.LeaseBusy:
            results.append("refused")

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["refused"] * 7 + ["won"]


def test_racing_takeover_of_an_expired_lease_has_one_winner(engine):
    leases.acquire(engine, holder="dead", now=T0, ttl_s=1, name=AAPL)
    barrier = threading.Barrier(6)
    won: list[str] = []

    def contend(i: int) -> None:
        barrier.wait()
        try:
            won.append(leases.acquire(engine, holder=f"h{i}", now=T0 + timedelta(seconds=5), ttl_s=60, name=AAPL).holder)
        except leases.LeaseBusy:
            pass

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and leases.current_lease(engine, AAPL).holder == won[0]


def test_keeper_renews_in_the_background(engine):
    clock = {"now": T0}
    leases.acquire(engine, holder="a", now=T0, ttl_s=2, name=AAPL)
    keeper = leases.LeaseKeeper(engine, holder="a", ttl_s=2, now=lambda: clock["now"], name=AAPL).start()
    try:
        clock["now"] = T0 + timedelta(seconds=10)
        import time

        time.sleep(1.2)  # the keeper beats every ttl/4 = 0.5 s
        assert leases.current_lease(engine, AAPL, now=T0 + timedelta(seconds=11)) is not None
    finally:
        keeper.stop()
    assert not keeper.lost
