"""The forecast of record and honest actuals, on real SQLite and real Postgres (issue 19, points 3-5 and 7).

One row per (ticker, cell, kind, origin, horizon) counts: the first published. Every
price write scores what it settles in its own transaction; an actual is the stored
close of its date (brought back to the row's own basis only after a recorded
re-basing); a scored row never changes.
"""
from __future__ import annotations

import base64
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from contract.vocab import LedgerKind
from dashboard.cache import ledgers
from dashboard.verdicts import verdict
from store import ledger, registry
from store import ledger_metrics as lm
from store.db import session_factory
from store.prices import load_prices, replace_all_prices
from store.tables import PriceRebasing
from tests.support.ledger import NOW, H, save_model, store_prices
from tests.support.ledger import dump


@pytest.fixture(scope="module")
def aapl() -> pd.DataFrame:
    """The last 80 days of the offline AAPL sample."""
    from marketdata.sources.offline import OfflineSampleSource

    return OfflineSampleSource().fetch("AAPL").iloc[-80:]


def publish(engine, at=NOW) -> ledger.PublishResult:
    return ledger.publish_champion_forecasts(engine, "AAPL", kind=LedgerKind.LIVE, now=at)


def scored_rows(engine) -> pd.DataFrame:
    rows = ledger.load_ledger(engine, "AAPL")
    return rows[rows.actual.notna()]


def test_a_same_evening_retrain_and_promote_do_not_double_count(engine, aapl):
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    first = save_model(engine, "gru", known, 0.01)
    assert publish(engine).superseded == 0
    second = save_model(engine, "gru", known, -0.01)  # a retrain promoted the same evening: same origin
    later = ledger.publish_after_run(engine, "AAPL", trigger="manual", now=NOW + timedelta(hours=1))
    assert later is not None and (later.written, later.superseded) == (H, H)  # kept, marked superseded
    store_prices(engine, aapl.iloc[:-9])  # the next close arrives and scores both sets
    rows = ledger.load_ledger(engine, "AAPL")
    assert len(rows) == 2 * H and rows.actual.notna().sum() == 2  # both scored, only one counts
    record = rows[rows.of_record]
    assert len(record) == H and set(record.model_id) == {first}  # the first published is the forecast of record
    assert set(rows[~rows.of_record].model_id) == {second}
    table = lm.score_table(rows)
    assert set(table[table.window == "all"].n) == {1}  # one live one-day forecast, not two
    assert "Only 1 live one-day forecast of the GRU has been scored" in verdict(rows, "gru")
    assert set(lm.last_publication(rows, "gru").model_id) == {first}
    counts = [line.split(",")[-1] for line in ledger.csv_text(ledger.export_frame(engine, ticker="AAPL")).splitlines()]
    assert counts[0] == "Counts" and sorted(counts[1:]) == ["superseded"] * H + ["yes"] * H


def test_a_promote_and_rollback_the_same_evening_publish_nothing_that_counts_twice(engine, aapl):
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    first = save_model(engine, "gru", known, 0.01)
    publish(engine)
    save_model(engine, "gru", known, 0.02)
    publish(engine, NOW + timedelta(minutes=5))
    registry.rollback(engine, "AAPL", "gru", actor="test", now=NOW + timedelta(minutes=10))
    again = publish(engine, NOW + timedelta(minutes=15))
    assert (again.written, again.already) == (0, H)  # the rolled-back champion published this origin already
    rows = ledger.load_ledger(engine, "AAPL")
    assert len(rows) == 2 * H and rows.of_record.sum() == H and set(rows[rows.of_record].model_id) == {first}


def test_live_and_replayed_rows_of_one_origin_each_have_their_record(engine, aapl, tmp_path):
    """Live and replayed rows are never pooled, so a replay of an origin that has live rows counts apart."""
    from store.db import create_schema, make_engine

    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.0)
    publish(engine)
    replay = make_engine(f"sqlite:///{tmp_path / 'replay.db'}")
    create_schema(replay)
    store_prices(replay, known)
    save_model(replay, "gru", known, 0.01)
    ledger.publish_champion_forecasts(replay, "AAPL", kind=LedgerKind.REPLAYED, now=NOW)
    assert ledger.copy_replayed(replay, engine, "AAPL", NOW)[0] == H
    replay.dispose()
    rows = ledger.load_ledger(engine, "AAPL")
    assert rows.of_record.all() and rows.groupby("kind").size().to_dict() == {"live": H, "replayed": H}


def test_a_one_day_correction_moves_no_other_actual(engine, aapl):
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.0)
    publish(engine)
    origin_close = float(known["close"].iloc[-1])
    corrected = known.iloc[-3:].copy()
    corrected[["open", "high", "low", "close"]] *= 1.10  # import-csv --replace of three days, +10%, no split
    store_prices(engine, corrected)
    new_days = aapl.iloc[-10:-7]
    store_prices(engine, new_days)  # three closes arrive: each scores its row
    rows = scored_rows(engine).set_index("target_date")
    stored = load_prices(engine, "AAPL")["close"]
    assert len(rows) == 3 and list(rows.actual) == [float(stored[d]) for d in rows.index]  # the stored close, exactly
    assert list(rows.actual) == list(new_days["close"]) and set(rows.persistence) == {origin_close}
    with engine.connect() as conn:
        assert conn.execute(select(PriceRebasing.id)).first() is None  # a correction is no re-basing


def test_a_scored_row_never_changes(engine, aapl):
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.0)
    publish(engine)
    store_prices(engine, aapl.iloc[-10:-8])
    before = [r for r in dump(engine) if r[LEDGER_ACTUAL] is not None]
    assert len(before) == 2
    fixed = aapl.iloc[-10:-9].copy()
    fixed[["open", "high", "low", "close"]] *= 1.05  # a correction of a target already scored (the whole day)
    store_prices(engine, fixed)
    split = aapl.iloc[:-7].copy()
    split[["open", "high", "low", "close"]] /= 2  # then a 2:1 split re-bases everything, and a new close arrives
    with session_factory(engine).begin() as s:
        replace_all_prices(s, "AAPL", split, "offline-sample", NOW)
    after = [r for r in dump(engine) if r[0] in {b[0] for b in before}]
    assert after == before


LEDGER_ACTUAL = [c.name for c in ledger.LedgerEntry.__table__.columns].index("actual")


def test_a_row_published_before_a_split_is_scored_on_its_own_basis(engine, aapl):
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.0)
    publish(engine)  # on the old basis
    split = aapl.iloc[:-9].copy()
    split[["open", "high", "low", "close"]] /= 2
    with session_factory(engine).begin() as s:
        replace_all_prices(s, "AAPL", split, "offline-sample", NOW)
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(select(PriceRebasing.factor, PriceRebasing.days))] == [(0.5, len(known))]
    save_model(engine, "lstm", split, 0.0)  # on the new basis, from the next origin
    publish(engine, NOW + timedelta(days=1))
    store_prices(engine, aapl.iloc[-9:-8].assign(**{c: aapl.iloc[-9:-8][c] / 2 for c in ("open", "high", "low", "close")}))
    rows = scored_rows(engine).set_index(["cell", "target_date"])
    day1, day2 = aapl.index[-10], aapl.index[-9]
    assert rows.loc[("gru", day1), "actual"] == pytest.approx(aapl["close"][day1], rel=1e-12)  # its own basis
    assert rows.loc[("gru", day2), "actual"] == pytest.approx(aapl["close"][day2], rel=1e-12)
    assert rows.loc[("lstm", day2), "actual"] == aapl["close"][day2] / 2  # the stored close: published after


def _upload(frame: pd.DataFrame) -> str:
    text = "Date,Open,High,Low,Close,Volume\n" + "".join(
        f"{d:%Y-%m-%d},{r.open},{r.high},{r.low},{r.close},{int(r.volume)}\n" for d, r in frame.iterrows())
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def test_an_admin_upload_scores_in_its_own_transaction_and_the_next_read_shows_it(engine, aapl):
    from dashboard.admin.csv_import import import_upload

    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.0)
    publish(engine)
    cache = ledgers(engine)
    view = cache.get("AAPL")
    assert view.frame.actual.isna().all()
    day = aapl.iloc[-10:-9]
    evening = day.index[0].to_pydatetime().replace(hour=23, tzinfo=NOW.tzinfo)
    message = import_upload(engine, _upload(day), "day.csv", "AAPL", evening)
    assert "1 new" in message
    fresh = cache.get("AAPL")  # the very next read: no time-to-live to wait out
    assert fresh is not view and cache.loads == 2
    assert list(fresh.frame.actual.dropna()) == [float(day["close"].iloc[0])]


def test_the_command_line_import_scores_at_once(engine, database_url, run_cli, aapl, tmp_path):
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.0)
    publish(engine)
    path = tmp_path / "day.csv"
    day = aapl.iloc[-10:-8]
    path.write_text(base64.b64decode(_upload(day).split(",", 1)[1]).decode())
    out = run_cli("import-csv", str(path), "--ticker", "AAPL", "--no-serve", database_url=database_url)
    assert out.returncode == 0, out.stderr
    assert list(scored_rows(engine).sort_values("horizon").actual) == list(day["close"])


def test_two_publishers_racing_for_one_origin_leave_exactly_one_forecast_of_record(engine, aapl):
    """Two processes publish different models' forecasts for one origin at once: one row of record per horizon."""
    import threading

    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.0)
    publish(engine)
    template = ledger.load_ledger(engine, "AAPL")
    with engine.begin() as conn:  # start again from an empty ledger, keeping the rows as a template
        conn.execute(ledger.LedgerEntry.__table__.delete())
    rows = [{"ticker": "AAPL", **{c: (v.date() if isinstance(v, pd.Timestamp) else v) for c, v in r.items()
                                  if c in ("cell", "model_version", "origin", "origin_close", "target_date", "horizon",
                                           "predicted", "lower80", "upper80", "lower95", "upper95", "kind")},
             "published_at": NOW} for r in template.to_dict("records")]
    barrier, results = threading.Barrier(2), {}

    def racer(model_id: int) -> None:
        barrier.wait()
        with engine.begin() as conn:
            results[model_id] = ledger._insert_or_ignore(conn, [r | {"model_id": model_id} for r in rows])

    threads = [threading.Thread(target=racer, args=(m,)) for m in (101, 202)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results.values()) == [(H, 0), (H, H)]  # both kept, one of them entirely superseded
    stored = ledger.load_ledger(engine, "AAPL")
    assert len(stored) == 2 * H and stored.of_record.sum() == H and stored[stored.of_record].model_id.nunique() == 1


def test_a_split_refetch_missing_a_stored_day_is_still_a_re_basing(engine, aapl):
    """A 2:1 refetch that lacks one stored day still re-bases: a pending row published on the old basis
    is scored on it (the new close times 2), not on the halved close."""
    known = aapl.iloc[:-10]
    store_prices(engine, known)
    save_model(engine, "gru", known, 0.0)
    publish(engine)
    split = aapl.iloc[:-9].copy()
    split[["open", "high", "low", "close"]] /= 2
    split = split.drop(split.index[30])  # the refetch lacks one stored day
    with session_factory(engine).begin() as s:
        replace_all_prices(s, "AAPL", split, "offline-sample", NOW)
    scored = [r for r in dump(engine) if r[LEDGER_ACTUAL] is not None]
    assert scored and all(r[LEDGER_ACTUAL] == pytest.approx(2 * float(split["close"].iloc[-1])) for r in scored)
