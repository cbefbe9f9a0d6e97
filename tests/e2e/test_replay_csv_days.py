"""A CSV-fed ticker advanced night by night through ``nightly``, as real processes, with no network.

``scripts.replay_csv_days`` imports a real history by CSV, trains, then feeds one day
per CSV and runs one nightly after each (``PRICE_SOURCE=offline``: the CSV ticker is
never fetched from the sample). Every fed day must be an origin of every cell, every
actual the stored close of its date, every persistence the origin's close.
"""
from __future__ import annotations

import pytest

from scripts.replay_csv_days import CELLS, HORIZON, replay_days
from tests.support.services import fresh_postgres


pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAYS = 3


def _assert_replayed(replay, checked) -> None:
    """Every fed day served by every cell, scored against the stored closes only."""
    fed = [day for day, _, _ in replay.nights]
    assert len(fed) == DAYS and all("succeeded" in line for _, _, line in replay.nights), replay.nights
    assert (checked.origins, checked.cells, checked.rows) == (DAYS, len(CELLS), DAYS * len(CELLS) * HORIZON)
    # scored: h=1 of every origin but the last, h=2 of the first (3 x 3 with three days)
    assert checked.scored == len(CELLS) * (DAYS - 1) * DAYS // 2
    assert (checked.actual_mismatches, checked.persistence_mismatches) == (0, 0)
    assert set(checked.served_from) == {fed[-1]}  # every champion forecasts from the newest fed close


def test_csv_ticker_advances_night_by_night_through_nightly(database_url, tmp_path):
    """Each imported day is served by all three champions the same night, though only the GRU trains."""
    replay, checked = replay_days(database_url, DAYS, workdir=tmp_path)
    _assert_replayed(replay, checked)
    assert all("finetune" in line for _, _, line in replay.nights)  # the plan trained the GRU alone


@pytest.mark.postgres
@pytest.mark.redis
def test_csv_ticker_advances_night_by_night_through_the_queue(postgres_database, redis_url, tmp_path):
    """The same nights through Redis and a Celery worker process, on Postgres."""
    replay, checked = replay_days(fresh_postgres(postgres_database), DAYS, queue_url=redis_url, workdir=tmp_path)
    _assert_replayed(replay, checked)
    assert b"succeeded" in (tmp_path / "worker.log").read_bytes()  # the worker process, not the CLI, ran the nights
