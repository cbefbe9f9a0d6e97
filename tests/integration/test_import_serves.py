"""After a price write every stale champion forecasts from the new close (issue 19, point 1).

``import-csv`` serves in its own process right after the import; ``--no-serve`` skips it;
a serve that fails leaves the import committed and says so. Real training (two epochs,
the offline sample's newest 320 days) on SQLite and Postgres.
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
from marketdata.sources.replay import ReplaySource
from store import ledger, registry
from store.prices import last_stored_date
from tests.support.ledger import save_model, store_prices
from tests.support.cli import assert_one_error_line
from tests.support.pipeline import TINY, history


def _csv(frame: pd.DataFrame, path) -> str:
    """``frame``'s days as a Yahoo-style CSV at ``path``; the path as a string."""
    path.write_text("Date,Open,High,Low,Close,Volume\n" + "".join(
        f"{d:%Y-%m-%d},{r.open},{r.high},{r.low},{r.close},{int(r.volume)}\n" for d, r in frame.iterrows()))
    return str(path)


def _live_rows(engine, origin: date) -> dict[str, int]:
    """cell -> number of live ledger rows published for ``origin``."""
    rows = ledger.load_ledger(engine, "AAPL")
    rows = rows[(rows.origin == pd.Timestamp(origin)) & (rows.kind == "live")]
    return {str(c): int(n) for c, n in rows.groupby("cell").size().items()}


def train_holding_back(engine, data_dir, days: int) -> pd.DataFrame:
    """Three champions trained (two epochs) on the history but its last ``days`` days; those days, not stored."""
    frame = history()
    settings = load_settings({"DATA_DIR": str(data_dir), "PRICE_SOURCE": "offline", "RETRAIN_WEEKDAY": "", **TINY})
    source = ReplaySource(frame, visible=len(frame) - days, name="offline-sample")
    ctx = JobContext(settings=settings, engine=engine, now=lambda: evening(source.today))
    assert run_pipeline(replace(ctx, sources=[source]), RunRequest.build("AAPL", trigger="nightly")).run_id
    assert set(registry.champion_forecast_origins(engine, "AAPL").values()) == {frame.index[-days - 1].date()}
    return frame.iloc[-days:]


@pytest.fixture
def trained(engine, tmp_path) -> pd.DataFrame:
    """Three champions trained on the history but its last two days; those two days, not stored."""
    return train_holding_back(engine, tmp_path / "data", 2)


@pytest.mark.slow
def test_import_serves_every_champion_from_the_new_close_and_no_serve_skips(engine, database_url, run_cli,
                                                                            trained, tmp_path):
    """--no-serve leaves the champions where they were; the default import serves all three from its close."""
    first, second = (d.date() for d in trained.index)
    before = registry.champion_forecast_origins(engine, "AAPL")
    out = run_cli("import-csv", _csv(trained.iloc[:1], tmp_path / "a.csv"), "--no-serve", database_url=database_url)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\n") == 1 and "imported 1 rows" in out.stdout  # the import's line only
    assert registry.champion_forecast_origins(engine, "AAPL") == before and _live_rows(engine, first) == {}

    out = run_cli("import-csv", _csv(trained.iloc[1:], tmp_path / "b.csv"), database_url=database_url)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith("AAPL: served ") and f"from the close of {second}" in lines[1]
    assert registry.champion_forecast_origins(engine, "AAPL") == {c: second for c in CELLS}  # the origin moved
    assert _live_rows(engine, second) == {c: 5 for c in CELLS}  # h=1..5 published for every cell


def test_a_serve_that_fails_keeps_the_import_and_says_so(engine, database_url, run_cli, tmp_path):
    """A champion that cannot forecast: one error line, exit 2, the imported close stays stored."""
    frame = history().iloc[-40:]
    store_prices(engine, frame.iloc[:-1])
    save_model(engine, "gru", frame.iloc[:-1], 0.0)  # placeholder bytes: loading it fails
    out = run_cli("import-csv", _csv(frame.iloc[-1:], tmp_path / "day.csv"), database_url=database_url)
    assert_one_error_line(out, "error: the import is committed, but AAPL's gru could not serve",
                          "python -m jobs serve --ticker AAPL")
    assert "imported 1 rows" in out.stdout
    assert last_stored_date(engine, "AAPL") == frame.index[-1].date()  # the import was not rolled back


def test_an_import_with_no_champion_serves_nothing(engine, database_url, run_cli, tmp_path):
    """Prices but no model: the import's line alone, exit 0 (nothing to serve is not an error)."""
    frame = history().iloc[-40:]
    out = run_cli("import-csv", _csv(frame, tmp_path / "h.csv"), database_url=database_url)
    assert out.returncode == 0 and out.stdout.count("\n") == 1 and out.stderr == "", out.stderr
