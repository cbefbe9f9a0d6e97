"""The serve step: every champion forecasts from the newest stored close, trained tonight or not.

Real training (two epochs, 300 days of the offline sample) on SQLite and Postgres;
only Yahoo is stood in for (a download that raises a network error).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd
import pytest

from config.settings import load_settings
from contract.run import RunRequest
from contract.vocab import CELLS
from jobs.context import JobContext
from jobs.run import run_pipeline
from jobs.simulate import evening
from marketdata.sources.offline import OfflineSampleSource
from marketdata.sources.replay import ReplaySource
from marketdata.sources.yahoo import YahooSource
from store import ledger, registry, runs
from store.db import session_factory
from price_feed.updates import switch_source, update_from_sources
from store.prices import load_prices, upsert_prices
from tests.support.pipeline import TINY, history

NOW = evening(date(2013, 3, 1))


@pytest.fixture
def ctx(engine, tmp_path):
    """A job context on the fresh store: a settable clock, no retrain weekday, two-epoch training."""
    settings = load_settings({"DATA_DIR": str(tmp_path), "PRICE_SOURCE": "offline", "RETRAIN_WEEKDAY": "", **TINY})
    clock = {"now": NOW}
    c = JobContext(settings=settings, engine=engine, now=lambda: clock["now"])
    c.clock = clock
    return c


def _night(ctx, source, **fields):
    """One nightly run from ``source`` at the evening of its newest day (a replay's); the run's record."""
    if isinstance(source, ReplaySource):
        ctx.clock["now"] = evening(source.today)
    result = run_pipeline(replace(ctx, sources=[source]), RunRequest.build("AAPL", trigger="nightly", **fields))
    return runs.get_run(ctx.engine, result.run_id)


def _served_from(engine) -> dict[str, date | None]:
    return registry.champion_forecast_origins(engine, "AAPL")


def _published(engine, origin: date) -> dict[str, int | None]:
    """cell -> model id of the live rows published for ``origin`` (five each)."""
    rows = ledger.load_ledger(engine, "AAPL")
    rows = rows[(rows.origin == pd.Timestamp(origin)) & (rows.kind == "live")]
    assert (rows.groupby("cell").size() == 5).all()
    return {c: int(m) for c, m in rows.groupby("cell").model_id.first().items()}


def yahoo_down() -> YahooSource:
    def download(*args, **kwargs):
        raise ConnectionError("network down")

    return YahooSource(download=download, sleep=lambda s: None)


@pytest.mark.slow
def test_a_candidate_that_loses_still_serves_every_champion(ctx):
    """A new close, a GRU retrain that is not promoted: all three champions forecast from that close."""
    source = ReplaySource(history(), visible=300, name="offline-sample")
    assert _night(ctx, source)["detail"]["plan"] == "first"
    champions = {c: registry.champion(ctx.engine, "AAPL", c).id for c in CELLS}
    day = source.advance()
    run = _night(ctx, source, action="retrain", cells=["gru"], promote=False)
    assert run["status"] == "succeeded" and run["promoted"] is False  # the candidate lost (was not promoted)
    assert {c: registry.champion(ctx.engine, "AAPL", c).id for c in CELLS} == champions
    assert _served_from(ctx.engine) == {c: day for c in CELLS}
    assert _published(ctx.engine, day) == champions  # one set per cell, from the champions that serve
    assert run["detail"]["served"].startswith(f"AAPL: served simplernn, lstm, gru from the close of {day}")
    fc = registry.load_output(ctx.engine, champions["lstm"], "forecast")
    close = float(history()["close"].iloc[300])
    assert fc["last_close"] == pytest.approx(close) and all(  # bands around the point, widening with the horizon
        lo < p < hi for lo, p, hi in zip(fc["lower80"], fc["predicted"], fc["upper80"]))
    assert fc["upper95"][4] - fc["lower95"][4] > fc["upper95"][0] - fc["lower95"][0]


@pytest.mark.slow
def test_an_unreachable_source_serves_the_newer_stored_close(ctx):
    """Yahoo down, but a close newer than the served forecasts is stored: the run trains and serves on it."""
    source = ReplaySource(history(), visible=300, name="offline-sample")
    _night(ctx, source)
    day = source.advance()
    with session_factory(ctx.engine).begin() as s:  # the new day arrived another way (an import)
        upsert_prices(s, "AAPL", history().iloc[300:301], "csv:next.csv", NOW)
    run = _night(ctx, yahoo_down())
    assert run["status"] == "succeeded" and run["detail"]["plan"] == "finetune"
    prices_line = next(s["message"] for s in run["steps"] if s["step"] == "prices")
    assert prices_line.startswith("AAPL: price source not reachable (Yahoo unreachable for AAPL")
    assert prices_line.endswith(f"working on the stored prices up to {day}")
    assert _served_from(ctx.engine) == {c: day for c in CELLS}
    again = _night(ctx, yahoo_down())  # nothing newer stored now: the failure stands, as before
    assert again["status"] == "failed" and again["error"].startswith("price update failed, nothing trained")


def test_a_csv_ticker_is_never_fetched_and_no_source_replaces_another(engine):
    """CSV history stays as imported under PRICE_SOURCE=offline; a different series never replaces one; a switch does."""
    sample = OfflineSampleSource().fetch("AAPL")
    with session_factory(engine).begin() as s:
        upsert_prices(s, "AAPL", sample.iloc[-40:-10] * 2, "csv:aapl.csv", NOW)  # a differently adjusted series
    before = load_prices(engine, "AAPL")
    result = update_from_sources(engine, "AAPL", [OfflineSampleSource()], overlap_days=10, now=NOW)
    assert result.added == 0 and "prices come from csv:aapl.csv (CSV imports); nothing fetched" in result.message
    pd.testing.assert_frame_equal(load_prices(engine, "AAPL"), before)
    with session_factory(engine).begin() as s:  # a ticker from another fetching source: not replaced either
        upsert_prices(s, "MSFT", OfflineSampleSource().fetch("MSFT").iloc[-40:-10] * 2, "yahoo", NOW)
    msft = load_prices(engine, "MSFT")
    result = update_from_sources(engine, "MSFT", [ReplaySource(OfflineSampleSource().fetch("MSFT"), 3000)], 10, NOW)
    assert result.added == 0 and "disagrees with the stored prices from yahoo" in result.message
    pd.testing.assert_frame_equal(load_prices(engine, "MSFT"), msft)
    switched = switch_source(engine, "AAPL", OfflineSampleSource(), NOW)  # the explicit command's step
    assert switched.replaced_history and load_prices(engine, "AAPL")["close"].iloc[-1] == sample["close"].iloc[-1]


@pytest.mark.slow
def test_serving_on_the_data_training_saw_reproduces_training_s_forecast_and_bands(ctx):
    """The serve step's band is the reported method's band: on the prices the model was trained on,
    serving gives the forecast training stored, point and bands (issue 24: one method for every band)."""
    from jobs.candidates import rolling_spec
    from jobs.stored import load_stored_cell, stored_split
    from marketdata.calendar import next_trading_days
    from models.serving import ServeInputs, fallback_halfwidths, serve_forecast

    source = ReplaySource(history(), visible=300, name="offline-sample")
    assert _night(ctx, source)["detail"]["plan"] == "first"
    prices = load_prices(ctx.engine, "AAPL")
    for cell in ("gru", "lstm"):
        champ = registry.champion(ctx.engine, "AAPL", cell)
        trained = registry.load_output(ctx.engine, champ.id, "forecast")
        stored = load_stored_cell(ctx, champ, stored_split(champ, prices))
        future = [d.isoformat() for d in next_trading_days(prices.index[-1].date(), stored.hp.horizon)]
        nan = fallback_halfwidths(None, stored.hp.horizon)  # no stand-in: every band must come from the method
        served = serve_forecast(ServeInputs(stored, prices, registry.load_output(ctx.engine, champ.id, "backtest"),
                                            nan), future, rolling_spec(ctx))
        assert served["last_date"] == trained["last_date"] and served["dates"] == trained["dates"]
        for key in ("predicted", "lower80", "upper80", "lower95", "upper95"):
            assert served[key] == pytest.approx(trained[key], rel=1e-4), (cell, key)
