"""The conditions an operator is alerted to, read from the store: each check returns, per subject,
either a Finding (the condition holds: open an incident) or the line that clears it.

Pure reads; ``alerts.check`` opens and clears the incidents.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from config.alerts import AlertSettings
from contract.vocab import LedgerKind, RunStatus
from marketdata.calendar import on_nyse_calendar, trading_days_between
from store import incidents, run_requests, runs
from store.incidents import Finding, IncidentKind
from store.operations import clock_facts
from store.ledger import load_ledger
from contract.vocab import FEW_ROWS
from store.ledger_metrics import last_days, score
from store.prices import last_stored_date

NEW_YORK = ZoneInfo("America/New_York")
SKILL_DAYS = 60  # the rolling window of scored target dates
# A cancelled run's error when someone asked for the stop (jobs.run_watch.CancelCheck): no alert.
# A signal ("SIGTERM received") or a lost lease is a fault and alerts.
ASKED_TO_STOP = ("cancel requested", "cancelled by the caller")


@dataclass(frozen=True)
class Outcome:
    """One subject's state now: ``finding`` when the condition holds, else ``clear`` says why not."""

    kind: IncidentKind
    subject: str
    finding: Finding | None = None
    clear: str = ""


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def clock_silent(engine: Engine, settings: AlertSettings, now: datetime) -> list[Outcome]:
    """The clock's newest heartbeat is older than ``clock_silent_minutes``. A store the clock never
    wrote to says nothing (a deployment without a clock yet, a test's store)."""
    last = clock_facts(engine).last_seen  # the pause row is an admin's click, not a heartbeat
    if last is None:
        return []
    age_min = (now - last).total_seconds() / 60
    if age_min <= settings.clock_silent_minutes:
        return [Outcome(IncidentKind.CLOCK_SILENT, "clock", clear=f"the clock is running again (heartbeat {_iso(last)})")]
    message = (f"no clock heartbeat for {age_min:.0f} min (last {_iso(last)}): the nightly runs are not scheduled; "
               "start the clock process (Heroku: heroku ps:scale clock=1)")
    return [Outcome(IncidentKind.CLOCK_SILENT, "clock", Finding(IncidentKind.CLOCK_SILENT, "clock", message, last))]


def expected_close(now: datetime, close_by: tuple[int, int]) -> tuple[date, datetime] | None:
    """The newest NYSE trading day whose close should be stored by ``now`` (New York ``close_by``), and
    that deadline in UTC."""
    local = now.astimezone(NEW_YORK)
    for day in reversed(trading_days_between(local.date() - timedelta(days=10), local.date())):
        deadline = datetime.combine(day, time(*close_by), NEW_YORK)
        if deadline <= local:
            return day, deadline.astimezone(now.tzinfo)
    return None


def close_missing(engine: Engine, settings: AlertSettings, tickers: tuple[str, ...], now: datetime) -> list[Outcome]:
    """A ticker on the NYSE calendar has no close for the newest trading day past its deadline."""
    expected = expected_close(now, settings.close_by)
    if expected is None:
        return []
    day, deadline = expected
    out = []
    for ticker in (t for t in tickers if on_nyse_calendar(t)):
        last = last_stored_date(engine, ticker)
        if last is not None and last >= day:
            out.append(Outcome(IncidentKind.CLOSE_MISSING, ticker, clear=f"{ticker}: the close of {last} is stored"))
            continue
        message = (f"{ticker}: no close for {day} by {settings.close_by[0]:02d}:{settings.close_by[1]:02d} New York "
                   f"(newest stored: {last or 'none'}); check the nightly run and the price source")
        out.append(Outcome(IncidentKind.CLOSE_MISSING, ticker,
                           Finding(IncidentKind.CLOSE_MISSING, ticker, message, deadline, ticker=ticker)))
    return out


def request_waiting(engine: Engine, settings: AlertSettings, now: datetime) -> list[Outcome]:
    """A requested run (``run_requests``) has waited longer than ``queue_wait_minutes``; the open
    incidents of requests that started or were cancelled since are cleared."""
    limit = timedelta(minutes=settings.queue_wait_minutes)
    late = {f"request {r.id}": r for r in run_requests.queued(engine) if now - r.requested_at > limit}
    out = []
    for subject, r in late.items():
        waited = (now - r.requested_at).total_seconds() / 60
        message = (f"{r.ticker}: run request #{r.id} has waited {waited:.0f} min for an executor "
                   "(is the worker or the clock running?)")
        out.append(Outcome(IncidentKind.REQUEST_WAITING, subject, Finding(
            IncidentKind.REQUEST_WAITING, subject, message, r.requested_at, ticker=r.ticker)))
    for incident in incidents.open_incidents(engine, IncidentKind.REQUEST_WAITING):
        if incident.subject not in late:
            out.append(Outcome(IncidentKind.REQUEST_WAITING, incident.subject,
                               clear=f"{incident.ticker or ''}: {incident.subject} is no longer waiting".strip(": ")))
    return out


def _skill_message(ticker: str, cell: str, n: int, ratio: float | None, coverage: float | None,
                   settings: AlertSettings) -> str | None:
    lo, hi = settings.coverage_range
    problems = []
    if ratio is not None and ratio > settings.ratio_above:
        problems.append(f"RMSE {ratio:.2f}x persistence's (alert above {settings.ratio_above:g})")
    if coverage is not None and not lo <= coverage <= hi:
        problems.append(f"80% band covered {coverage:.0%} of closes (alert outside {lo:.0%}-{hi:.0%})")
    if not problems:
        return None
    return f"{ticker} {cell} live skill over the last {n} scored one-day forecasts: " + "; ".join(problems)


def skill(engine: Engine, settings: AlertSettings, tickers: tuple[str, ...], now: datetime) -> list[Outcome]:
    """Each cell's live one-day forecasts over the newest 60 scored target dates: RMSE ratio to
    persistence above ``ratio_above``, or 80% band coverage outside ``coverage_range``. Fewer than
    20 scored forecasts judge nothing."""
    out = []
    for ticker in tickers:
        frame = load_ledger(engine, ticker)
        if frame.empty:
            continue
        live = frame[(frame["kind"] == LedgerKind.LIVE.value) & (frame["horizon"] == 1)]
        for cell, rows in live.groupby("cell", sort=True):
            s = score(last_days(rows[rows["actual"].notna()], SKILL_DAYS))
            if s.n < FEW_ROWS:
                continue
            subject = f"{ticker}/{cell}"
            message = _skill_message(ticker, str(cell), s.n, s.rmse_ratio, s.coverage80, settings)
            finding = None if message is None else Finding(IncidentKind.SKILL, subject, message, now, ticker=ticker)
            out.append(Outcome(IncidentKind.SKILL, subject, finding,
                               clear=f"{ticker} {cell} live skill back within its thresholds"))
    return out


def last_runs(engine: Engine, tickers: tuple[str, ...]) -> list[Outcome]:
    """Each ticker's newest finished run: failed opens (or keeps) the incident, succeeded or skipped
    clears it. Catches a run whose process died before its own end could alert (an orphan)."""
    out = []
    for ticker in tickers:
        finished = next((r for r in runs.list_runs(engine, limit=5, ticker=ticker)
                         if r["status"] != RunStatus.RUNNING), None)
        if finished is None:
            continue
        outcome = run_outcome(ticker, finished["id"], RunStatus(finished["status"]), finished.get("error"),
                              finished.get("finished_at") or finished["started_at"])
        if outcome is not None:
            out.append(outcome)
    return out


def run_outcome(ticker: str, run_id: int, status: RunStatus, error: str | None, at: datetime,
                by_admin: bool = False) -> Outcome | None:
    """A run's end as an outcome: failed (or stopped by a fault: a signal, a lost lease) alerts; a run
    that succeeded or was skipped clears; one an admin cancelled says nothing."""
    if status in (RunStatus.SUCCEEDED, RunStatus.SKIPPED):
        return Outcome(IncidentKind.RUN_FAILED, ticker, clear=f"{ticker}: run {run_id} {status}")
    asked = by_admin or any(phrase in (error or "") for phrase in ASKED_TO_STOP)
    if status is RunStatus.FAILED or (status is RunStatus.CANCELLED and not asked):
        message = f"{ticker}: run {run_id} {status}: {error or 'no error recorded'}"
        return Outcome(IncidentKind.RUN_FAILED, ticker,
                       Finding(IncidentKind.RUN_FAILED, ticker, message, at, ticker=ticker, run_id=run_id))
    return None
