"""Admin callbacks for runs and the schedule: start (a queued run request, handed to the queue's
executor), the queued request and what it waits behind, how it ended, live progress and history,
a run's steps, cancel (a run or a queued request), pause and resume."""
from __future__ import annotations

from typing import Any

import dash
from dash import Dash, Input, Output, State, html, no_update

from config.celery_app import queue_status
from contract.errors import Refusal
from contract.vocab import DEFAULT_CELL, RunStatus
from store import lease as leases, prices, registry as model_registry, run_requests, runs as run_history
from store.pause import paused
from store.times import db_now

from dashboard import auth, data, ids, inputs
from dashboard.admin import actions, views
from dashboard.admin.unchanged import only_changed, sent
from dashboard.admin.guard import active_run, admin_callback, chosen_ticker
from dashboard.admin.layout import alert, default_action, notice
from dashboard.figures.common import label


def _keep(_exc: Refusal):
    raise dash.exceptions.PreventUpdate


@admin_callback(on_refusal=lambda _exc: no_update)
def on_ticker(_user: str, ticker):
    return default_action(chosen_ticker(ticker))


def _start_refused(exc: Refusal):
    text = str(exc) if str(exc).startswith(("Refused", "Not started")) else f"Refused: {exc}."
    return no_update, alert("warning", text, id_=ids.Admin.REFUSED)


@admin_callback(on_refusal=_start_refused)
def on_start(user: str, _n, action, cells, epochs, ticker=None):
    settings = data.settings()
    req = actions.validate_request(action, cells, epochs, ticker, settings.tickers)
    queue_ok, queue_why = queue_status(settings, timeout_s=0.5)
    if not queue_ok:  # Redis down: say so instead of failing inside Dash's Celery manager
        raise actions.Refused(f"Not started: {queue_why}. Analyst pages keep serving; try again later.")
    ticker = req["ticker"] or settings.default_ticker
    refusal = actions.refusal_for_running(active_run(ticker))
    if refusal:
        raise actions.Refused(refusal)
    request_id = actions.queue_run(data.engine(), settings, user, req, data.now())
    actions.hand_over(settings, data.engine(), request_id, data.now())
    return request_id, alert("info", f"Queued {_what(req)} of {ticker} as request #{request_id}: it starts when "
                                     "a worker and the ticker are free.")


@admin_callback(on_refusal=lambda exc: alert("warning", f"Refused: {exc}.", id_=ids.Admin.RUN_OUTCOME))
def on_poll_outcome(_user: str, _n, request_id):
    """How the request this page queued ended, once it has; nothing while it waits or runs (the
    last outcome is taken down). The id is the client's to send: it is only read, never run."""
    if request_id is None:
        raise dash.exceptions.PreventUpdate
    ended = actions.request_outcome(data.engine(), inputs.whole_number(request_id, "run request id", 1,
                                                                       inputs.MAX_DB_INT))
    return None if ended is None else alert(ended[0], ended[1], id_=ids.Admin.RUN_OUTCOME)


def _what(req: dict) -> str:
    if req["action"] == "auto":
        return "the nightly pipeline"
    cells = f"the {DEFAULT_CELL.label}" if req["action"] == "finetune" else ", ".join(map(label, req["cells"]))
    verb = "a fine-tune of" if req["action"] == "finetune" else "a retrain of"
    return f"{verb} {cells} ({req['epochs']} epochs)"


def _progress(run: dict | None, last: dict | None, ticker: str) -> tuple[int, str, str]:
    """(value, label, text): a live run's progress; else how the last run ended (100%, or why it stopped)."""
    if run:
        pct = round(100 * float(run["progress"] or 0))
        detail = run.get("detail") or {}
        cells = ", ".join(map(label, detail.get("cells") or []))
        text = (f"{ticker} run #{run['id']} ({run['action']}, {run['trigger']} by {run['requested_by']}"
                f"{'; ' + cells if cells else ''}): {run['progress_message'] or 'working'}")
        # the steps so far move the line on where the bar waits (data, evaluation: minutes at one percentage)
        steps = [str(s.get("step", "")) for s in run.get("steps") or [] if isinstance(s, dict)]
        text += f" (steps so far: {', '.join(steps)})" if steps else ""
        return pct, f"{pct}%", text + (" - cancel requested" if run["cancel_requested"] else "")
    if not last:
        return 0, "", f"No {ticker} run in progress."
    if last["status"] in (RunStatus.SUCCEEDED, RunStatus.SKIPPED):
        return 100, "100%", f"Last {ticker} run #{last['id']} {last['status']}: {last.get('progress_message') or ''}"
    pct = round(100 * float(last.get("progress") or 0))
    why = last.get("error") or last.get("progress_message") or last["status"]
    return pct, f"stopped at {pct}%", f"Last {ticker} run #{last['id']} {last['status']} at {pct}%: {why}"


def poll_view(engine, ticker: str | None = None):
    """(progress value, progress label, progress text, cancel disabled, runs table, clock, champions, options),
    all for ``ticker`` (default: the first configured); a dead run shows as failed and blocks nothing."""
    settings = data.settings()
    ticker = ticker or settings.default_ticker
    now, ttl = data.now(), settings.schedule.lease_ttl_s
    run = run_history.active_run(engine, ticker, stale_after_s=ttl)
    store_now = db_now(engine)  # dead runs by the clock heartbeats are written with
    runs = [run_history.as_shown(r, store_now, ttl) for r in run_history.list_runs(engine, limit=15)]
    last = next((r for r in runs if r["ticker"] == ticker), None)
    pct, bar_label, text = _progress(run, last, ticker)
    queue_ok, queue_why = queue_status(settings, timeout_s=0.3)
    clock_view = html.Div([views.pause_view(paused(engine)),
                           views.clock_holder_view(leases.current_lease(engine, leases.CLOCK_LEASE, live=True)),
                           views.clock_view(run_history.clock_status(engine), settings.schedule.timezone, now),
                           html.P(queue_why[0].upper() + queue_why[1:] + ".", id=ids.Admin.QUEUE,
                                  className="mb-0 mt-1 " + ("text-muted" if queue_ok else "text-danger fw-bold"))])
    runs_view = views.table(views.run_rows(runs), views.RUN_COLUMNS, ids.Admin.RUNS_TABLE,
                            "No runs yet. Start one here, or run: python -m jobs train")
    models = model_registry.list_models(engine, ticker)
    options = [{"label": f"#{m.id} {label(m.cell)} v{m.version}", "value": m.id} for m in models]
    return (pct, bar_label, text, run is None, runs_view, clock_view, views.champions_view(models, ticker), options)


def _run_named(run: dict) -> str:
    return f"run #{run['id']} ({run['ticker']} {run['action']}, started {run['started_at']:%H:%M} UTC)"


def _behind(engine, waiting: run_requests.StoredRequest) -> str:
    """What a queued request waits for: its ticker's live run; else any live run (a busy worker)
    and its ticker's training lease if another process holds it; and how many asked before it."""
    ttl = data.settings().schedule.lease_ttl_s  # staleness is judged by the database's clock
    own = run_history.active_run(engine, waiting.ticker, stale_after_s=ttl)
    other = None if own else run_history.active_run(engine, None, stale_after_s=ttl)
    held = None if own else leases.current_lease(engine, leases.training_lease(waiting.ticker), live=True)
    parts = [f"behind {_run_named(run)}" for run in (own or other,) if run]
    if held:
        parts.append(f"behind the {waiting.ticker} training lease held by {held.holder} since {held.acquired_at:%H:%M} UTC")
    ahead = run_requests.ahead_of(engine, waiting.id)
    if ahead:
        parts.append(f"{ahead} ahead")
    if not parts and not data.settings().redis_url and not actions.clock_running(engine):
        return "waiting for the clock, which runs queued requests and is not running: start it (python -m jobs clock)"
    return "; ".join(parts) if parts else "waiting for a free worker"


def queue_view(engine, ticker: str) -> tuple[Any, bool]:
    """(what the ticker's queued request waits for, cancel-queued disabled)."""
    waiting = run_requests.queued(engine, ticker)
    if not waiting:
        return None, True
    req = waiting[0]
    asked = (f"{ticker} request #{req.id} ({req.request.action}, asked by {req.request.requested_by} "
             f"at {req.requested_at:%H:%M} UTC) is queued, {_behind(engine, req)}.")
    return html.Span(asked, className="text-warning-emphasis fw-bold"), False


@admin_callback(on_refusal=_keep)
def on_poll_queue(_user: str, _n, ticker=None, shown=None):
    return sent(only_changed(queue_view(data.engine(), chosen_ticker(ticker)), shown))


@admin_callback(on_refusal=lambda exc: notice("warning", f"Refused: {exc}."))
def on_cancel_queued(user: str, _n, ticker=None):
    return notice("info", actions.cancel_queued(data.engine(), chosen_ticker(ticker), f"ui:{user}", data.now()))


def _poll_refused(exc: Refusal):
    if isinstance(exc, auth.NotAuthorized):
        raise dash.exceptions.PreventUpdate
    return (no_update,) * 2 + (f"Refused: {exc}.",) + (no_update,) * 6


@admin_callback(on_refusal=_poll_refused)
def on_poll(_user: str, _n, ticker=None, shown=None):
    """The progress, history, clock and champions, each sent only when it changed (``shown``: the page's digests)."""
    return sent(only_changed(poll_view(data.engine(), chosen_ticker(ticker)), shown))


@admin_callback(on_refusal=_keep)
def on_poll_lists(_user: str, _n, ticker=None, shown=None, digests=None):
    """The slower-changing lists, each sent only when it changed (``digests``: the page's), and the cancel
    message only while it still holds (``shown``: the message on the page; another callback writes it too,
    so it is never skipped by digest)."""
    ticker = chosen_ticker(ticker)
    engine = data.engine()
    models = views.model_rows(model_registry.list_models(engine, ticker))
    runs = run_history.list_runs(engine, limit=30)
    picks = [{"label": f"#{r['id']} {r['ticker']} {r['status']}", "value": r["id"]} for r in runs]
    lists = (models, views.audit_view(model_registry.champion_events(engine, ticker, limit=20)),
             views.prices_view(prices.price_summaries(engine), data.now()), picks)
    *changed, kept = only_changed(lists, digests)
    return sent((*changed, _cancel_still_holds(shown, ticker), kept))


def _cancel_still_holds(shown, ticker: str):
    """Keep "Asked run #N to stop" only while run N is still running (no_update: leave what is shown)."""
    props = shown.get("props") if isinstance(shown, dict) else None
    run_id = props.get("data-run") if isinstance(props, dict) else None
    if not isinstance(run_id, str) or not run_id.isdigit():
        return no_update
    run = active_run(ticker)
    return no_update if run and str(run["id"]) == run_id else None


@admin_callback(on_refusal=lambda exc: alert("warning", f"Refused: {exc}."))
def on_run_pick(_user: str, run_id):
    run = run_history.get_run(data.engine(), inputs.whole_number(run_id, "run id", 1, inputs.MAX_DB_INT)) if run_id else None
    return views.run_steps(run)


@admin_callback(on_refusal=lambda exc: notice("warning", f"Refused: {exc}.", ids.Admin.CANCEL_REFUSED))
def on_cancel(_user: str, _n, ticker=None):
    ticker = chosen_ticker(ticker)
    run = active_run(ticker)
    if run is None:
        return notice("secondary", f"No {ticker} run is in progress.")
    if not actions.request_cancel(data.engine(), run["id"]):
        return notice("secondary", f"{ticker} run #{run['id']} has already finished.")
    # data-run: the poll takes the message down once this run is no longer running.
    # Dash accepts data-* attributes as keyword arguments; its signature cannot spell them.
    return html.Div(alert("info", f"Asked {ticker} run #{run['id']} to stop at its next safe point."),
                    **{"data-run": str(run["id"])})  # type: ignore[arg-type]


@admin_callback(on_refusal=lambda exc: notice("warning", f"Refused: {exc}."))
def on_pause(user: str, _p, _r):
    pause = dash.ctx.triggered_id == ids.Admin.PAUSE
    return notice("info", actions.set_schedule_paused(data.engine(), pause, f"ui:{user}", data.now()))


def register_callbacks(app: Dash) -> None:
    app.callback(Output(ids.Admin.ACTION, "value"), Input(ids.Admin.TICKER, "value"), prevent_initial_call=True)(on_ticker)
    app.callback(
        Output(ids.Admin.REQUEST, "data"),
        Output(ids.Admin.START_MSG, "children"),
        Input(ids.Admin.START, "n_clicks"),
        State(ids.Admin.ACTION, "value"),
        State(ids.Admin.CELLS, "value"),
        State(ids.Admin.EPOCHS, "value"),
        State(ids.Admin.TICKER, "value"),
        prevent_initial_call=True,
    )(on_start)
    register_polls(app)
    app.callback(Output(ids.Admin.RUN_STEPS, "children"), Input(ids.Admin.RUN_PICK, "value"),
                 prevent_initial_call=True)(on_run_pick)
    app.callback(Output(ids.Admin.CANCEL_MSG, "children"), Input(ids.Admin.CANCEL, "n_clicks"),
                 State(ids.Admin.TICKER, "value"), prevent_initial_call=True)(on_cancel)
    app.callback(Output(ids.Admin.RUN_RESULT, "children"), Input(ids.Admin.POLL, "n_intervals"),
                 State(ids.Admin.REQUEST, "data"), prevent_initial_call=True)(on_poll_outcome)
    app.callback(Output(ids.Admin.QUEUED_MSG, "children"), Input(ids.Admin.CANCEL_QUEUED, "n_clicks"),
                 State(ids.Admin.TICKER, "value"), prevent_initial_call=True)(on_cancel_queued)
    app.callback(Output(ids.Admin.PAUSE_MSG, "children"), Input(ids.Admin.PAUSE, "n_clicks"),
                 Input(ids.Admin.RESUME, "n_clicks"), prevent_initial_call=True)(on_pause)


def register_polls(app: Dash) -> None:
    """The every-second polls that send only what changed (each keeps its digests in a Store)."""
    app.callback(
        Output(ids.Admin.PROGRESS, "value"),
        Output(ids.Admin.PROGRESS, "label"),
        Output(ids.Admin.PROGRESS_TEXT, "children"),
        Output(ids.Admin.CANCEL, "disabled"),
        Output(ids.Admin.RUNS, "children"),
        Output(ids.Admin.CLOCK, "children"),
        Output(ids.Admin.MODELS, "children"),
        Output(ids.Admin.PROMOTE_MODEL, "options"),
        Output(ids.Admin.POLL_SHOWN, "data"),
        Input(ids.Admin.POLL, "n_intervals"),
        State(ids.Admin.TICKER, "value"),
        State(ids.Admin.POLL_SHOWN, "data"),
    )(on_poll)
    app.callback(
        Output(ids.Admin.MODELS_TABLE, "data"),
        Output(ids.Admin.AUDIT, "children"),
        Output(ids.Admin.PRICES, "children"),
        Output(ids.Admin.RUN_PICK, "options"),
        Output(ids.Admin.CANCEL_MSG, "children", allow_duplicate=True),
        Output(ids.Admin.LISTS_SHOWN, "data"),
        Input(ids.Admin.POLL, "n_intervals"),
        State(ids.Admin.TICKER, "value"),
        State(ids.Admin.CANCEL_MSG, "children"),
        State(ids.Admin.LISTS_SHOWN, "data"),
        prevent_initial_call=True,
    )(on_poll_lists)
    app.callback(Output(ids.Admin.QUEUED, "children"), Output(ids.Admin.CANCEL_QUEUED, "disabled"),
                 Output(ids.Admin.QUEUE_SHOWN, "data"), Input(ids.Admin.POLL, "n_intervals"),
                 State(ids.Admin.TICKER, "value"), State(ids.Admin.QUEUE_SHOWN, "data"))(on_poll_queue)
