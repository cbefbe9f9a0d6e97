"""What the admin page shows, as plain functions from store rows to components (no callbacks here)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import html

from dashboard import fmt, ids
from dashboard.components import ago, fmt_dt
from dashboard.figures.common import label
from store.lease import LeaseInfo
from store.registry import ChampionChange, ModelInfo

MODELS_PAGE_SIZE = 8
ONE_OFF_JOBS = ("bootstrap",)  # clock jobs that run once at start; shown only while still due


def table(rows: list[dict], columns: list[tuple[str, str]], id_: str, empty: str):
    if not rows:
        return html.P(empty, className="text-muted mb-0", id=id_)
    head = html.Thead(html.Tr([html.Th(title) for _, title in columns]))
    # data-label: on a phone each row stacks as "label value" lines (10-house.css), no sideways scroll.
    # Dash accepts data-* attributes as keyword arguments; its signature cannot spell them.
    body = html.Tbody([html.Tr([html.Td(_cell(r.get(key)), **{"data-label": title})  # type: ignore[arg-type]
                                for key, title in columns])
                       for r in rows])
    return dbc.Table([head, body], bordered=False, hover=True, size="sm", striped=True, id=id_,
                     className="mb-0 stack-on-phone", responsive=True)


def _cell(v):
    if isinstance(v, float):
        return fmt.ratio(v)
    if hasattr(v, "strftime"):
        return fmt_dt(v)
    return "" if v is None else v if not isinstance(v, (list, tuple)) else ", ".join(map(str, v))


def before_after(run: dict) -> str:
    """'GRU RMSE/persistence 1.041 -> 1.032' per cell the run trained (a dash where there was none)."""
    before, after = run.get("metrics_before") or {}, run.get("metrics_after") or {}
    parts = []
    for cell in sorted(set(before) | set(after)):
        b, a = (before.get(cell) or {}).get("rmse_ratio"), (after.get(cell) or {}).get("rmse_ratio")
        parts.append(f"{label(cell)} {fmt.ratio(b)} -> {fmt.ratio(a)}")
    return "; ".join(parts)


def _lines(*lines, **extra) -> html.Div:
    """Several short lines in one cell (one element, so a phone's stacked row keeps them together)."""
    return html.Div([html.Div(line) for line in lines if line], **extra)


def run_rows(runs: list[dict]) -> list[dict]:
    """Run history rows, four columns that fit the card: which run, what it did (ticker, action, cells,
    epochs; who asked), how it ended (status, start, seconds), and why (notes; RMSE before -> after)."""
    out = []
    for r in runs:
        detail = r.get("detail") or {}
        cells = ", ".join(map(label, detail.get("cells") or []))
        epochs = detail.get("epochs", "")
        seconds = f", {r['duration_s']:.0f} s" if r.get("duration_s") is not None else ""
        ratios = before_after(r)
        out.append({
            "id": r["id"],
            "run": _lines(f"{r['ticker']} {detail.get('plan') or r['action']}",
                          " · ".join(x for x in (cells, f"{epochs} epochs" if epochs != "" else "") if x),
                          html.Span(f"{r['trigger']}, by {r['requested_by']}", className="text-muted")),
            "outcome": _lines(f"{r['status']}{seconds}", html.Span(fmt_dt(r["started_at"]), className="text-muted")),
            "notes": _lines(r.get("error") or r.get("progress_message") or "",
                            html.Span(f"RMSE/persistence before -> after: {ratios}", className="text-muted")
                            if ratios else "", className="run-notes"),
        })
    return out


RUN_COLUMNS = [("id", "#"), ("run", "run"), ("outcome", "outcome"), ("notes", "notes")]


def run_steps(run: dict | None):
    """One run's steps, in order, with their times."""
    if not run:
        return html.P("Choose a run to see its steps.", className="text-muted mb-0")
    steps = [html.Li([html.B(s.get("step", "")), f" {s.get('message', '')} ", html.Span(str(s.get("at", ""))[:19],
                                                                                        className="text-muted small")])
             for s in run.get("steps") or []]
    return html.Div([html.Ol(steps or [html.Li("no steps recorded")], className="mb-1", id=ids.Admin.STEPS_LIST),
                     html.P(f"Notes: {run.get('error') or run.get('progress_message') or '-'}", className="mb-1"),
                     html.P(f"RMSE/persistence before -> after: {before_after(run) or '-'}", className="mb-0")])


def champions_view(models: list[ModelInfo], ticker: str):
    """The served model of each cell type, apart from the full list."""
    rows = [dict(cell=label(m.cell), id=m.id, version=m.version, kind=m.kind, trained=m.created_at,
                 ratio=_ratio(m)) for m in models if m.is_champion]
    return table(rows, [("cell", "cell"), ("id", "model"), ("version", "v"), ("kind", "kind"), ("trained", "trained"),
                        ("ratio", "RMSE/persistence")], ids.Admin.CHAMPIONS_TABLE, f"No trained models yet for {ticker}, so no champions.")


def _ratio(model: ModelInfo):
    metrics = model.metrics or {}
    return (metrics.get("rows", {}).get(model.cell) or metrics).get("rmse_ratio")


def audit_view(events: list[ChampionChange]):
    rows = [dict(at=e.at, action=e.action, cell=label(e.cell), model=f"#{e.model_id}",
                 previous=f"#{e.previous_model_id}" if e.previous_model_id else "-", actor=e.actor)
            for e in events]
    return table(rows, [("at", "when"), ("action", "action"), ("cell", "cell"), ("model", "now serving"),
                        ("previous", "replaced"), ("actor", "by")], ids.Admin.AUDIT_TABLE, "No promotions or rollbacks yet.")


def pause_view(pause) -> html.P:
    if pause is None:
        return html.P("Nightly schedule: not paused (whether a clock runs: see Health).", id=ids.Admin.PAUSE_STATE,
                      className="mb-1")
    return html.P(f"Nightly schedule: PAUSED by {pause.by} at {pause.at[:16].replace('T', ' ')} UTC; "
                  "scheduled runs are skipped until it is resumed.", id=ids.Admin.PAUSE_STATE,
                  className="mb-1 text-warning fw-bold")


def clock_holder_view(holder: LeaseInfo | None):
    """Which clock process runs: the live holder of the clock lease (host, pid, since when)."""
    if holder is None:
        return html.P("Clock process: none is running (no live clock lease). Start one with: python -m jobs clock",
                      id=ids.Admin.CLOCK_HOLDER, className="mb-1 text-danger fw-bold")
    parts = holder.holder.rsplit(":", 2)  # host:pid:random (store.lease.new_holder_id)
    where = f"{parts[0]} pid {parts[1]}" if len(parts) == 3 else holder.holder
    return html.P(f"Clock process: {where} ({holder.holder}), running since {holder.acquired_at:%Y-%m-%d %H:%M:%S} "
                  f"UTC; its heartbeat renews its lease (expires in {holder.seconds_left:.0f} s without one).",
                  id=ids.Admin.CLOCK_HOLDER, className="mb-1")


def clock_view(clock: list[dict], tz_name: str, now: datetime):
    """Scheduled jobs in the schedule's own time zone; a one-off that already ran is not listed."""
    from store.pause import PAUSE_ROW

    tz = ZoneInfo(tz_name)
    clock = [c for c in clock if c["job_id"] != PAUSE_ROW]
    due = [c for c in clock if c["next_run_at"] is not None or c["job_id"] not in ONE_OFF_JOBS]
    due = [c for c in due if not (c["job_id"] in ONE_OFF_JOBS and c["next_run_at"] < now)]
    if not due:
        return html.P("The clock process has not reported yet. Start it with: python -m jobs clock",
                      className="text-muted mb-0", id=ids.Admin.CLOCK_LIST)
    items = [html.Li(f"{c['job_id']}: next run {c['next_run_at'].astimezone(tz):%Y-%m-%d %H:%M %Z} "
                     f"(clock seen {ago(c['heartbeat_at'], now)})" if c["next_run_at"] else
                     f"{c['job_id']}: not scheduled (clock seen {ago(c['heartbeat_at'], now)})") for c in due]
    return html.Ul(items, className="mb-0", id=ids.Admin.CLOCK_LIST)


def prices_view(summaries, now: datetime):
    rows = [dict(ticker=s.ticker, rows=f"{s.rows:,}", first=s.first_date, last=s.last_date,
                 source=s.source_line(), fetched=ago(s.last_fetched_at, now)) for s in summaries]
    return table(rows, [("ticker", "ticker"), ("rows", "rows"), ("first", "first day"), ("last", "last day"),
                        ("source", "source"), ("fetched", "fetched")], ids.Admin.PRICES_TABLE, "No prices stored yet.")


MODEL_COLUMNS = [("id", "id"), ("ticker", "ticker"), ("cell", "cell"), ("version", "v"), ("kind", "kind"),
                 ("trained", "trained"), ("ratio", "RMSE/persistence"), ("champion", "champion")]


def model_rows(models: list[ModelInfo]) -> list[dict]:
    """Every model of the ticker as rows of the paginated table (older champions never drop off)."""
    return [dict(id=m.id, ticker=m.ticker, cell=label(m.cell), version=m.version, kind=m.kind,
                 trained=fmt_dt(m.created_at), ratio=fmt.ratio(_ratio(m)), champion="yes" if m.is_champion else "")
            for m in models]


def comparison_view(c) -> html.Div:
    """Candidate and champion side by side on the same test days, with a warning when the candidate is worse."""
    rows = [("candidate", c.candidate), ("champion now", c.champion)]
    body = [html.Tr([html.Td(role), html.Td(s.label if s else "none"), html.Td(fmt.price(s.rmse) if s else "-"),
                     html.Td(fmt.ratio(s.rmse / c.persistence_rmse) if s and s.rmse is not None and c.persistence_rmse else "-")])
            for role, s in rows]
    window = (f"Both scored on the same {c.days} test days, {c.first_day} to {c.last_day}, where their stored "
              "one-step predictions overlap." if c.days else "The two models share no test days: no fair comparison.")
    parts = [html.P(f"{c.ticker} {label(c.cell)}. {window}", className="small"),
             dbc.Table([html.Thead(html.Tr([html.Th(h) for h in ("", "model", "RMSE", "RMSE/persistence")])),
                        html.Tbody(body)], size="sm", id=ids.Admin.PROMOTE_TABLE),
             html.P(f"Persistence RMSE on those days: {fmt.price(c.persistence_rmse)}.", className="small text-muted")]
    if c.candidate_worse:
        parts.append(dbc.Alert("Warning: the candidate's error is larger than the champion's on these days.",
                               color="warning", id=ids.Admin.PROMOTE_WORSE, className="py-2 mb-0"))
    return html.Div(parts)


def rollback_view(ticker: str, cell: str, served: ModelInfo | None, last: list[ChampionChange]) -> html.Div:
    """What a rollback will do: the served model stops serving; the one it replaced (audit trail) serves again."""
    now = f"model #{served.id} (v{served.version}, {served.kind})" if served else "no model"
    back = (f"model #{last[0].previous_model_id}" if last and served and last[0].model_id == served.id
            and last[0].previous_model_id else "the model it replaced")
    return html.Div([
        html.P(f"{ticker} {label(cell)}: {now} stops serving and {back} serves again, from its stored forecast; "
               "the change is recorded under Promotions and rollbacks."),
        html.P("Refused when the audit trail names no earlier champion.", className="small text-muted mb-0")])
