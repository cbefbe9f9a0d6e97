"""The training lease on the real SQLite and Postgres stores: acquire, refuse, expire, take over.
Its times are the database's clock; tests age a lease with tests.support.aging."""
from __future__ import annotations

import threading
import time

import pytest

from store import lease as leases
from store import runs
from tests.support.aging import expire_lease

AAPL = leases.training_lease("AAPL")


def test_first_caller_gets_the_lease_second_is_refused(engine):
    held = leases.acquire(engine, holder="a", ttl_s=60, name=AAPL)
    with pytest.raises(leases.LeaseBusy) as refused:
        leases.acquire(engine, holder="b", ttl_s=60, name=AAPL)
    # Refused, and told who holds it since when.
    assert f"held by a since {held.acquired_at:%Y-%m-%d %H:%M:%S} UTC" in str(refused.value)
    assert leases.current_lease(engine, AAPL).holder == "a"
    assert held.seconds_left == pytest.approx(60, abs=2)


def test_refusal_names_the_run_in_progress(engine):
    run_id = runs.start_run(engine, ticker="AAPL", trigger="manual", requested_by="alice", action="retrain")
    leases.acquire(engine, holder="a", ttl_s=60, name=AAPL)
    leases.attach_run(engine, holder="a", run_id=run_id, name=AAPL)
    with pytest.raises(leases.LeaseBusy) as refused:
        leases.acquire(engine, holder="b", ttl_s=60, name=AAPL)
    msg = str(refused.value)
    started = runs.get_run(engine, run_id)["started_at"]
    assert f"run #{run_id}" in msg and "alice" in msg and f"of AAPL started {started:%Y-%m-%d %H:%M:%S} UTC" in msg


def test_leases_of_different_tickers_are_independent(engine):
    """One training per ticker: AAPL held does not block MSFT, but does block a second AAPL."""
    leases.acquire(engine, holder="a", ttl_s=60, name=AAPL)
    assert leases.acquire(engine, holder="b", ttl_s=60, name=leases.training_lease("msft")).holder == "b"
    with pytest.raises(leases.LeaseBusy):
        leases.acquire(engine, holder="c", ttl_s=60, name=leases.training_lease(" aapl "))
    assert leases.current_lease(engine, "training:MSFT").holder == "b"


def test_expired_lease_is_taken_over(engine):
    leases.acquire(engine, holder="dead", ttl_s=60, name=AAPL)
    expire_lease(engine, AAPL)
    assert leases.current_lease(engine, AAPL, live=True) is None
    info = leases.acquire(engine, holder="b", ttl_s=60, name=AAPL)
    assert info.holder == "b"
    # The dead holder can neither renew nor release what it lost.
    assert not leases.renew(engine, holder="dead", ttl_s=60, name=AAPL)
    assert not leases.release(engine, holder="dead", name=AAPL)
    assert leases.current_lease(engine, AAPL).holder == "b"


def test_renewal_keeps_the_lease_past_its_first_expiry(engine):
    leases.acquire(engine, holder="a", ttl_s=1, name=AAPL)
    assert leases.renew(engine, holder="a", ttl_s=60, name=AAPL)
    time.sleep(1.2)  # past the first expiry, by any clock
    with pytest.raises(leases.LeaseBusy):
        leases.acquire(engine, holder="b", ttl_s=60, name=AAPL)


def test_release_frees_the_lease_at_once(engine):
    leases.acquire(engine, holder="a", ttl_s=60, name=AAPL)
    assert leases.release(engine, holder="a", name=AAPL)
    assert leases.acquire(engine, holder="b", ttl_s=60, name=AAPL).holder == "b"


def test_racing_threads_exactly_one_wins(engine):
    """Eight callers at once, through separate connections: one lease, seven refusals."""
    barrier = threading.Barrier(8)
    results: list[str] = []

    def contend(i: int) -> None:
        barrier.wait()
        try:
            leases.acquire(engine, holder=f"h{i}", ttl_s=60, name=AAPL)
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
    leases.acquire(engine, holder="dead", ttl_s=60, name=AAPL)
    expire_lease(engine, AAPL, ago_s=5)
    barrier = threading.Barrier(6)
    won: list[str] = []

    def contend(i: int) -> None:
        barrier.wait()
        try:
            won.append(leases.acquire(engine, holder=f"h{i}", ttl_s=60, name=AAPL).holder)
        except leases.LeaseBusy:
            pass

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and leases.current_lease(engine, AAPL).holder == won[0]


def test_keeper_renews_in_the_background(engine):
    first = leases.acquire(engine, holder="a", ttl_s=2, name=AAPL)
    beats: list[int] = []
    keeper = leases.LeaseKeeper(engine, holder="a", ttl_s=2, name=AAPL, on_beat=lambda: beats.append(1)).start()
    try:
        # The keeper beats every ttl/4 = 0.5 s; unrenewed, the lease would have expired by 2.5 s. Past that,
        # wait for the third beat rather than assume it came on time on a loaded machine.
        time.sleep(2.5)
        deadline = time.monotonic() + 10
        while len(beats) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        live = leases.current_lease(engine, AAPL, live=True)
        assert live is not None and live.expires_at > first.expires_at and len(beats) >= 3
    finally:
        keeper.stop()
    assert not keeper.lost


def test_keeper_that_finds_its_lease_taken_says_so_once(engine):
    """A holder paused past its TTL finds its lease taken: ``lost`` and ``on_lost``, no more renewals."""
    leases.acquire(engine, holder="a", ttl_s=2, name=AAPL)
    expire_lease(engine, AAPL)
    leases.acquire(engine, holder="b", ttl_s=60, name=AAPL)
    lost: list[int] = []
    keeper = leases.LeaseKeeper(engine, holder="a", ttl_s=2, name=AAPL, on_lost=lambda: lost.append(1)).start()
    deadline = time.monotonic() + 10
    while not keeper.lost and time.monotonic() < deadline:  # its first renewal is due at ttl/4 = 0.5 s
        time.sleep(0.05)
    time.sleep(1.0)  # two more beats' time: a keeper that kept renewing would call on_lost again
    keeper.stop()
    assert keeper.lost and lost == [1] and leases.current_lease(engine, AAPL).holder == "b"
