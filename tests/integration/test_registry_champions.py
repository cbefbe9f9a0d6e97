"""Registry on SQLite and Postgres: versions, outputs, promotion and rollback as transactions."""
from datetime import date, datetime, timezone

import pytest

from store import registry
from contract.outputs import OUTPUT_NAMES
from store.tables import ChampionEvent, ModelRecord
from sqlalchemy import func, select

NOW = datetime(2024, 1, 2, 21, tzinfo=timezone.utc)


def new_model(cell="gru", **over):
    """A NewModel with fake bytes: the registry never looks inside them."""
    fields = dict(
        ticker="AAPL", cell=cell, kind="train", hyperparams={"cell": cell}, seed=42,
        data_start=date(2000, 1, 3), data_end=date(2013, 3, 1), val_start=date(2008, 1, 2),
        test_start=date(2010, 7, 27), data_hash="x" * 64,
        metrics={"cell": cell, "horizon": 5, "test_days": 654, "rows": {}},
        train_seconds=1.0, param_count=669, keras_bytes=b"not really keras",
    )
    fields.update(over)
    return registry.NewModel(**fields)


def outputs():
    return {name: {"name": name, "value": 1.0} for name in OUTPUT_NAMES}


def test_versions_count_per_cell_and_outputs_are_stored(engine):
    a = registry.save_model(engine, new_model("gru"), outputs(), now=NOW)
    b = registry.save_model(engine, new_model("gru"), outputs(), now=NOW)
    c = registry.save_model(engine, new_model("lstm"), outputs(), now=NOW)
    assert [registry.get_model(engine, i).version for i in (a, b, c)] == [1, 2, 1]
    assert set(registry.load_outputs(engine, b)) == set(OUTPUT_NAMES)
    assert registry.load_model_bytes(engine, a) == b"not really keras"


def test_nan_is_stored_as_null(engine):
    # Postgres' JSON type rejects NaN; the registry must not hand it one.
    outs = outputs()
    outs["metrics"] = {"rows": {"gru": {"dm_stat": float("nan")}}}
    mid = registry.save_model(engine, new_model(), outs, now=NOW)
    assert registry.load_outputs(engine, mid)["metrics"]["rows"]["gru"]["dm_stat"] is None


def test_missing_output_stores_nothing(engine):
    outs = outputs()
    del outs["forecast"]
    with pytest.raises(registry.RegistryError, match="forecast"):
        registry.save_model(engine, new_model(), outs, now=NOW)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ModelRecord)).scalar() == 0


def test_promote_then_rollback_walks_the_history(engine):
    m1 = registry.save_model(engine, new_model(), outputs(), now=NOW, promote=True)
    m2 = registry.save_model(engine, new_model(), outputs(), now=NOW)
    m3 = registry.save_model(engine, new_model(), outputs(), now=NOW)
    assert registry.champion(engine, "AAPL", "gru").id == m1
    assert registry.promote(engine, m2, "alice", now=NOW) == m1
    assert registry.promote(engine, m3, "bob", now=NOW) == m2
    # rollback serves the previous champion, and a second rollback goes one further back
    assert registry.rollback(engine, "AAPL", "gru", "carol", now=NOW) == m2
    assert registry.champion(engine, "AAPL", "gru").id == m2
    assert registry.rollback(engine, "AAPL", "gru", "carol", now=NOW) == m1
    with pytest.raises(registry.RegistryError, match="no earlier champion"):
        registry.rollback(engine, "AAPL", "gru", "carol", now=NOW)
    events = registry.champion_events(engine, "AAPL", "gru")
    assert [(e.action, e.model_id, e.previous_model_id, e.actor) for e in events] == [
        ("rollback", m1, m2, "carol"),
        ("rollback", m2, m3, "carol"),
        ("promote", m3, m2, "bob"),
        ("promote", m2, m1, "alice"),
        ("promote", m1, None, "training"),
    ]
    flags = {m.id: m.is_champion for m in registry.list_models(engine, "AAPL")}
    assert flags == {m1: True, m2: False, m3: False}


def test_champions_are_per_cell(engine):
    g = registry.save_model(engine, new_model("gru"), outputs(), now=NOW, promote=True)
    s = registry.save_model(engine, new_model("simplernn"), outputs(), now=NOW, promote=True)
    assert registry.champion(engine, "AAPL", "gru").id == g
    assert registry.champion(engine, "AAPL", "simplernn").id == s
    assert registry.champion(engine, "AAPL", "lstm") is None


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda eng, mid: registry.promote(eng, 9999, "x", now=NOW), "no model with id 9999"),
        (lambda eng, mid: registry.promote(eng, mid, "x", now=NOW), "already the AAPL gru champion"),
        (lambda eng, mid: registry.rollback(eng, "AAPL", "lstm", "x", now=NOW), "no earlier champion"),
        (lambda eng, mid: registry.load_outputs(eng, 9999), "no outputs"),
    ],
)
def test_bad_requests_change_nothing(engine, call, message):
    mid = registry.save_model(engine, new_model(), outputs(), now=NOW, promote=True)
    with pytest.raises(registry.RegistryError, match=message):
        call(engine, mid)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ChampionEvent)).scalar() == 1
