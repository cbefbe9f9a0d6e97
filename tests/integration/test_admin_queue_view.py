"""What the admin page says about a queued run request, and its cancel, on SQLite and Postgres."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from contract.run import RunRequest
from dashboard import data, ids
from dashboard.admin import actions as admin_actions, run_callbacks
from store import lease as leases, run_requests, runs
from tests.support.dash_client import ADMIN_QUEUE_OUT, basic, call
from tests.support.dashboard_env import ADMIN, admin_env


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _queue(ticker: str) -> int:
    return run_requests.add(data.engine(), RunRequest.build(ticker, action="retrain", cells=["gru"], epochs=3,
                                                            requested_by="ui:boss"), _now())


def _says(ticker: str) -> str:
    shown, disabled = run_callbacks.queue_view(data.engine(), ticker)
    assert disabled is (shown is None)  # the cancel button is live exactly while a request waits
    return "" if shown is None else shown.children


def test_the_page_says_what_a_queued_request_waits_behind(dash_client, database_url):
    """Nothing queued, then waiting for a worker, behind another ticker's run, behind its own
    ticker's lease, and with a request ahead of it."""
    client = dash_client(database_url, TICKERS="AAPL,MSFT", **admin_env())
    assert _says("AAPL") == ""
    aapl = _queue("AAPL")
    # the embedded default's executor is the clock: none running, the page says so and how to start one
    assert _says("AAPL").endswith("is queued, waiting for the clock, which runs queued requests and is not running: "
                                  "start it (python -m jobs clock).")
    leases.acquire(data.engine(), holder="clock-host:7", ttl_s=600, name=leases.CLOCK_LEASE)
    assert _says("AAPL").endswith("is queued, waiting for a free worker.")
    assert _says("AAPL").startswith(f"AAPL request #{aapl} (retrain, asked by ui:boss at ")

    started = _now() - timedelta(minutes=3)
    msft_run = runs.start_run(data.engine(), ticker="MSFT", trigger="nightly", requested_by="clock", action="auto",
                              now=started)
    runs.heartbeat(data.engine(), msft_run, _now())  # live: its heartbeat is fresh
    assert _says("AAPL").endswith(f"is queued, behind run #{msft_run} (MSFT auto, started {started:%H:%M} UTC).")

    lease = leases.acquire(data.engine(), holder="cli-host:42", ttl_s=60, name=leases.training_lease("AAPL"))
    held = f"behind the AAPL training lease held by cli-host:42 since {lease.acquired_at:%H:%M} UTC."
    assert _says("AAPL").endswith(f"is queued, behind run #{msft_run} (MSFT auto, started {started:%H:%M} UTC); {held}")
    runs.finish_run(data.engine(), msft_run, "succeeded", now=_now())
    assert _says("AAPL").endswith(f"is queued, {held}")
    leases.release(data.engine(), holder="cli-host:42", name=leases.training_lease("AAPL"))

    msft = _queue("MSFT")
    assert _says("MSFT") == (f"MSFT request #{msft} (retrain, asked by ui:boss at "
                             f"{run_requests.get(data.engine(), msft).requested_at:%H:%M} UTC) is queued, 1 ahead.")
    # through the endpoint, as the page polls it, with admin credentials only
    poll_state = [(ids.Admin.TICKER, "value", "MSFT"), (ids.Admin.QUEUE_SHOWN, "data", None)]
    r = call(client, ADMIN_QUEUE_OUT, [(ids.Admin.POLL, "n_intervals", 1)], poll_state, headers=basic(*ADMIN))
    assert r.status_code == 200 and f"MSFT request #{msft}" in r.get_data(as_text=True)
    assert r.json["response"][ids.Admin.CANCEL_QUEUED]["disabled"] is False
    denied = call(client, ADMIN_QUEUE_OUT, [(ids.Admin.POLL, "n_intervals", 1)], poll_state)
    assert denied.status_code == 401
    leases.release(data.engine(), holder="clock-host:7", name=leases.CLOCK_LEASE)


def test_a_queued_request_is_cancelled_from_the_page(dash_client, database_url):
    """The cancel names the request, leaves it cancelled and the next one may be queued."""
    client = dash_client(database_url, TICKERS="AAPL,MSFT", **admin_env())
    first = _queue("AAPL")
    out = f"{ids.Admin.QUEUED_MSG}.children"
    r = call(client, out, [(ids.Admin.CANCEL_QUEUED, "n_clicks", 1)], [(ids.Admin.TICKER, "value", "AAPL")],
             headers=basic(*ADMIN))
    assert f"Cancelled AAPL request #{first}: it will not start." in r.get_data(as_text=True)
    stored = run_requests.get(data.engine(), first)
    assert stored.status == "cancelled" and stored.outcome == f"cancelled by ui:{ADMIN[0]}"
    assert admin_actions.cancel_queued(data.engine(), "AAPL", "ui:boss", _now()) == "No AAPL run request is queued."
    second = _queue("AAPL")  # the ticker's one queued place is free again
    assert run_requests.claim(data.engine(), second, "worker", _now()) is not None
    assert admin_actions.cancel_queued(data.engine(), "AAPL", "ui:boss", _now()) == "No AAPL run request is queued."
    assert run_requests.get(data.engine(), second).status == "claimed"  # a claimed request is a run: not cancelled here
    bad = call(client, out, [(ids.Admin.CANCEL_QUEUED, "n_clicks", 1)], [(ids.Admin.TICKER, "value", "TSLA")],
               headers=basic(*ADMIN))
    assert "Refused: unknown ticker" in bad.get_data(as_text=True)
