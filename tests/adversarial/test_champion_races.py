"""Concurrent promote and rollback requests, on real SQLite and real Postgres: every champion
change is a compare-and-set, so the audit trail stays a chain (issue 20, point 2)."""
from __future__ import annotations

import random
import threading
from datetime import datetime, timezone
from typing import Callable

import pytest
from sqlalchemy import select

from contract.outputs import OUTPUT_NAMES
from store import registry
from store.tables import Champion
from tests.integration.test_registry_champions import new_model

NOW = datetime(2026, 3, 6, 21, tzinfo=timezone.utc)
THREADS = 12
REQUESTS_PER_THREAD = 4


def _outputs() -> dict:
    return {name: {"name": name, "value": 1.0} for name in OUTPUT_NAMES}


def _chain(engine, ticker: str, cell: str) -> list[registry.ChampionChange]:
    return list(reversed(registry.champion_events(engine, ticker, cell)))


def assert_consistent_chain(engine, ticker: str, cell: str) -> list[str]:
    """Replays the trail: each event's previous model is the champion it replaced, no event
    goes from a model to itself, each rollback serves what was served before; returns it as lines."""
    stack: list[int] = []
    lines = []
    for e in _chain(engine, ticker, cell):
        lines.append(f"#{e.id} {e.action} {e.previous_model_id} -> {e.model_id} by {e.actor}")
        assert e.previous_model_id == (stack[-1] if stack else None), lines[-1]
        assert e.model_id != e.previous_model_id, lines[-1]
        if e.action == "rollback":
            stack.pop()
            assert stack and e.model_id == stack[-1], lines[-1]  # what was served before the one replaced
        else:
            stack.append(e.model_id)
    with engine.connect() as conn:
        served = conn.execute(select(Champion.model_id).where(Champion.ticker == ticker,
                                                              Champion.cell == cell)).scalar_one()
    assert served == stack[-1]  # the champions row is the end of the chain
    return lines


def _hammer(requests: list[Callable[[], str]], n_threads: int = THREADS) -> list[str]:
    """Runs the requests from ``n_threads`` threads released at once; what each answered."""
    barrier = threading.Barrier(n_threads)
    answers: list[str] = []
    shares = [requests[i::n_threads] for i in range(n_threads)]

    def work(mine: list[Callable[[], str]]) -> None:
        barrier.wait()
        for request in mine:
            answers.append(request())

    threads = [threading.Thread(target=work, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return answers


def _direct(engine, model_ids: list[int], rng: random.Random) -> list[Callable[[], str]]:
    def promote(mid: int) -> Callable[[], str]:
        def go() -> str:
            try:
                return f"promoted {mid} over {registry.promote(engine, mid, 'racer', now=NOW)}"
            except registry.RegistryError as exc:
                return f"refused: {exc}"
        return go

    def roll() -> str:
        try:
            return f"rolled back to {registry.rollback(engine, 'AAPL', 'gru', 'racer', now=NOW)}"
        except registry.RegistryError as exc:
            return f"refused: {exc}"

    return [roll if rng.random() < 0.4 else promote(rng.choice(model_ids)) for _ in range(THREADS * REQUESTS_PER_THREAD)]


def test_concurrent_promotions_and_rollbacks_leave_a_chain(engine, capsys):
    """48 promote/rollback calls from 12 threads: a consistent chain, no self-transition."""
    ids = [registry.save_model(engine, new_model(), _outputs(), now=NOW, promote=i == 0) for i in range(5)]
    registry.promote(engine, ids[1], "setup", now=NOW)
    answers = _hammer(_direct(engine, ids, random.Random(20)))
    lines = assert_consistent_chain(engine, "AAPL", "gru")
    changed = [a for a in answers if not a.startswith("refused")]
    assert len(lines) == 2 + len(changed)  # one event per change reported, none for a refusal
    assert any(a.startswith("rolled back") for a in changed) and any(a.startswith("promoted") for a in changed)
    with capsys.disabled():
        print(f"\n[{engine.dialect.name}] champion chain after {len(answers)} concurrent requests "
              f"({len(changed)} changes, {len(answers) - len(changed)} refused):\n  " + "\n  ".join(lines))


def test_promoting_the_champion_or_rolling_back_to_it_records_nothing(engine):
    """A self-transition is refused and leaves no event."""
    a = registry.save_model(engine, new_model(), _outputs(), now=NOW, promote=True)
    with pytest.raises(registry.RegistryError, match="already the AAPL gru champion"):
        registry.promote(engine, a, "alice", now=NOW)
    with pytest.raises(registry.RegistryError, match="no earlier champion"):
        registry.rollback(engine, "AAPL", "gru", "alice", now=NOW)
    assert len(registry.champion_events(engine, "AAPL")) == 1


def test_rollback_refuses_when_the_trail_does_not_end_at_the_served_model(engine):
    """A trail damaged by an older version is not popped blindly: no event, champion kept."""
    a = registry.save_model(engine, new_model(), _outputs(), now=NOW, promote=True)
    b = registry.save_model(engine, new_model(), _outputs(), now=NOW, promote=True)
    c = registry.save_model(engine, new_model(), _outputs(), now=NOW)
    with engine.begin() as conn:  # the served model changed behind the trail's back
        conn.execute(Champion.__table__.update().values(model_id=c))
    with pytest.raises(registry.RegistryError, match=f"ends at model {b}, not at the served model {c}"):
        registry.rollback(engine, "AAPL", "gru", "alice", now=NOW)
    assert registry.champion(engine, "AAPL", "gru").id == c and a != c
    assert len(registry.champion_events(engine, "AAPL")) == 2


def test_concurrent_admin_callbacks_leave_a_chain(dash_client, database_url, capsys):
    """20 promote/rollback callbacks of the admin page from 10 threads: the same chain rules hold."""
    from scripts.fixture_store import write_fixture_models
    from store.db import make_engine
    from tests.integration.test_dashboard_champions import CONFIRM, _champion_action
    from tests.support.dash_client import basic, call
    from tests.support.dashboard_env import ADMIN, admin_env
    from dashboard import ids as dash_ids

    engine = make_engine(database_url)
    write_fixture_models(engine, "AAPL")  # gru #3 then #4 (champion)
    extra = [registry.save_model(engine, new_model(), _outputs(), now=NOW) for _ in range(2)]
    app = dash_client(database_url, **admin_env()).application
    rng = random.Random(7)

    def promote(mid: int) -> Callable[[], str]:
        return lambda: call(app.test_client(), CONFIRM, [(dash_ids.Admin.PROMOTE_CONFIRM, "n_clicks", 1)],
                            [(dash_ids.Admin.PROMOTE_MODEL, "value", mid), (dash_ids.Admin.TICKER, "value", None)],
                            headers=basic(*ADMIN)).get_data(as_text=True)

    def roll() -> str:
        return _champion_action(app.test_client(), dash_ids.Admin.ROLLBACK, cell="gru").get_data(as_text=True)

    requests = [roll if rng.random() < 0.4 else promote(rng.choice([3, 4, *extra])) for _ in range(20)]
    answers = _hammer(requests, n_threads=10)
    lines = assert_consistent_chain(engine, "AAPL", "gru")
    done = [a for a in answers if "is now the champion" in a or "champion again" in a]
    assert len(lines) == 2 + len(done)  # the fixture's two promotions plus one per success shown
    assert all("Traceback" not in a and "Internal Server Error" not in a for a in answers)
    with capsys.disabled():
        print(f"\n[{engine.dialect.name}] admin callbacks: {len(done)} changes, {len(answers) - len(done)} refused:\n  "
              + "\n  ".join(lines))
    engine.dispose()
