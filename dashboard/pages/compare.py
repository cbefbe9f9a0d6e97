"""Compare cell types on rolling origins: figures with baselines and intervals, pairwise verdicts, direction, bands."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dash_table, html
from dash.development.base_component import Component

from contract.outputs import LossCurve, Metrics, Predictions
from contract.vocab import CELLS

from dashboard import data, fmt, ids, inputs
from dashboard.components import graph, missing, refused_page, ticker_bar
from dashboard.figures.common import empty_figure
from dashboard.figures.compare import (
    MEASURES, band_sentence, best_networks, direction_frame, goals_frame, horizon_figure, interval_frame, loss_figure, metrics_frame,
    overlay_figure, pairs_frame, persistence_words, tercile_frame, tests_frame, verdict_sentence,
)
from dashboard.figures.loss_note import loss_note
from dashboard.navigation import page_title
from store.queries import Snapshot

dash.register_page(__name__, path="/compare", name="Compare cell types", title=page_title("Compare"), order=2)


@overload
def _collect(snap: Snapshot, name: Literal["metrics"]) -> dict[str, Metrics]: ...
@overload
def _collect(snap: Snapshot, name: Literal["predictions"]) -> dict[str, Predictions]: ...
@overload
def _collect(snap: Snapshot, name: Literal["loss_curve"]) -> dict[str, LossCurve]: ...
def _collect(snap: Snapshot, name: Literal["metrics", "predictions", "loss_curve"]) -> dict[str, Any]:
    """cell -> the ``name`` output of every served model that has one."""
    return {c: v.outputs[name] for c, v in snap.cells.items() if name in v.outputs}


def compare_view(snap: Snapshot):
    """(tables, texts, overlay, loss, horizon figures) for every served model."""
    def build():
        metrics = _collect(snap, "metrics")
        preds = _collect(snap, "predictions")
        losses = _collect(snap, "loss_curve")
        tables = None
        if metrics:
            direction, direction_words = direction_frame(metrics)
            tables = {"metrics": metrics_frame(metrics), "pairs": pairs_frame(snap.comparison),
                      "direction": direction, "intervals": interval_frame(metrics),
                      "verdict": verdict_sentence(snap.comparison, metrics), "direction_words": direction_words,
                      "method": method_sentence(metrics), "terciles": tercile_frame(metrics), "tests": tests_frame(metrics),
                      "goals": goals_frame(metrics), "bands": band_sentence(metrics)}
        return (tables, data.plain(overlay_figure(preds)) if preds else None,
                data.plain(loss_figure(losses)) if losses else None,
                data.plain(horizon_figure(metrics)) if metrics else None)
    return data.reads().memo(snap, "compare", build)


def method_sentence(metrics: Mapping[str, Metrics]) -> str:
    """How the figures were made, from the first model's evaluation block."""
    ev = next((m.get("evaluation") for m in metrics.values() if m.get("evaluation")), None)
    if not ev:
        return "These models were stored before rolling-origin evaluation; retrain to get its figures."
    origins = ev["origins"]
    return (f"Rolling-origin evaluation: {origins[0]} forecast origins from {ev['report_start']} to {ev['report_end']} "
            f"({origins[-1]} at h={len(origins)}), each forecast made only from data before its origin by a model "
            f"refit (warm-started) every {ev['refit_every']} trading days. These origins come after the validation "
            f"window (early stopping) and the promotion window ({ev['promotion_start']} to {ev['report_start']}), so no "
            "figure here chose the model it describes. Baselines are scored on the very same origins. Intervals: "
            f"95% stationary block bootstrap ({ev['bootstrap_reps']} resamples, {_blocks(ev)}).")


def _blocks(ev: Mapping[str, Any]) -> str:
    """The bootstrap's mean block: per horizon by Politis-White where stored, else the one block used."""
    blocks = ev.get("bootstrap_blocks")
    if blocks:
        return (f"mean block {' / '.join(str(b) for b in blocks)} days at h=1..{len(blocks)}, each chosen for its "
                "horizon by the Politis-White rule (arch's optimal_block_length), at least h days")
    return f"mean block {ev['bootstrap_block']} days at every horizon (stored before per-horizon blocks: retrain)"


def _table(id_: str, frame, left: str, best: Sequence[str] = ()):
    """A metric table in the house format (fmt.table_format): fixed decimals, numbers sortable;
    ``best`` rows (by ``left``) are highlighted."""
    marks = [{"if": {"filter_query": f'{{{left}}} = "{name}"'}, "backgroundColor": "#e8f8f5", "fontWeight": "bold"}
             for name in best]
    # dash_table's __init__ is '# type: ignore' (star import), so mypy sees no DataTable in it.
    table = dash_table.DataTable(  # type: ignore[attr-defined]
        id=id_,
        columns=[{"name": c, "id": c, **fmt.table_format(c)} for c in frame.columns],
        data=frame.to_dict("records"),
        sort_action="native",
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "inherit", "fontSize": 14, "padding": "4px 8px"},
        style_header={"fontWeight": "bold", "backgroundColor": "#ecf0f1", "whiteSpace": "normal"},
        style_cell_conditional=[{"if": {"column_id": left}, "textAlign": "left"}],
        style_data_conditional=[{"if": {"filter_query": f'{{{left}}} contains "baseline"'}, "color": "#566573"}, *marks],
    )
    # On a phone the ratio and interval columns are off to the right: say so above the table (10-house.css
    # shows the cue at a phone's width only).
    return html.Div([html.Div("Swipe the table sideways for more columns \u2192", className="scroll-cue small"), table],
                    className="scroll-cued")


def layout(ticker: str | None = None, **_query):
    try:
        snap = data.snapshot(ticker)
    except inputs.Refused as exc:
        return refused_page(ids.Compare.PAGE, "/compare", exc, data.settings().tickers)
    return html.Div([ticker_bar(ids.Compare.PAGE, "/compare", snap.ticker, data.settings().tickers), page_body(snap)])


def page_body(snap: Snapshot):
    if not snap.has_prices:
        return html.Div([html.H1(f"{snap.ticker}: compare cell types", className="h3"), missing("No prices are stored yet.", "python -m jobs init", id_=ids.Compare.EMPTY)])
    if not snap.has_models:
        return html.Div([html.H1(f"{snap.ticker}: compare cell types", className="h3"),
                         missing("No trained models to compare yet.", "python -m jobs train", id_=ids.Compare.EMPTY)])
    tables, overlay, loss, horizon = compare_view(snap)
    missing_cells = [c for c in CELLS if c not in snap.cells]
    parts: list[Component] = [html.H1(f"{snap.ticker}: compare cell types", className="h3")]
    if missing_cells:
        parts.append(missing(f"Not trained yet: {', '.join(missing_cells)}.", "python -m jobs train --cells " + ",".join(missing_cells)))
    if tables is not None:
        parts += _table_parts(tables)
    if overlay is not None:
        parts.append(graph(ids.Compare.OVERLAY, overlay))
    parts.append(_charts_row(snap, loss, horizon))
    return html.Div(parts)


def _table_parts(tables: dict[str, Any]) -> list[Component]:
    """The verdict, the method and the four tables with their explanations."""
    return [
        dbc.Alert(tables["verdict"], id=ids.Compare.VERDICT, color="info"),
        html.P(tables["method"], id=ids.Compare.METHOD, className="text-muted"),
        html.H2("One day ahead, networks and baselines", className="h5"),
        html.P("RMSE ratio below 1: smaller errors than repeating yesterday's close; its 95% interval says how "
               "sure that is. R2 in returns: against predicting no change (vs 0) and against the historical mean "
               "return (Campbell-Thompson, vs mean); skill only where its whole 95% interval is above 0. MASE: mean "
               "absolute return error over the training period's typical daily move. DM p: Diebold-Mariano against "
               "persistence, Holm-adjusted across the rows of this table. " + persistence_words(tables["metrics"]),
               id=ids.Compare.EXPLAIN, className="text-muted small"),
        _table(ids.Compare.TABLE, tables["metrics"], "model", best_networks(tables["metrics"])),
        html.P(f"Highlighted: the lowest RMSE ratio among the networks ({', '.join(best_networks(tables['metrics'])) or '-'}"
               f", at {fmt.RATIO_DECIMALS} decimals); whether that lead is real is in the differences below.",
               id=ids.Compare.BEST, className="text-muted small"),
        html.H2("Differences between models", className="h5 mt-3"),
        _table(ids.Compare.PAIRS, tables["pairs"], "pair") if len(tables["pairs"]) else
        html.P("No comparison of the models served now is stored yet.", className="text-muted"),
        html.H2("Direction against its base rate", className="h5 mt-3"),
        html.P(tables["direction_words"], className="text-muted small"),
        _table(ids.Compare.DIRECTION, tables["direction"], "forecaster"),
        html.H2("Prediction intervals at every horizon", className="h5 mt-3"),
        html.P("Coverage should be near the level at every horizon; narrower bands and a lower Winkler score are "
               "better at equal coverage.", className="text-muted small"),
        html.P(tables["bands"], className="text-muted small"),
        _table(ids.Compare.INTERVALS, tables["intervals"], "band"),
        *_band_parts(tables),
    ]


def _band_parts(tables: dict[str, Any]) -> list[Component]:
    """Coverage in calm and turbulent times, the tests a risk desk runs, and the networks' bands against the goals."""
    return [
        html.H2("Coverage in calm and in turbulent times", className="h5 mt-3"),
        html.P("The reported origins in three equal thirds by the 20-day volatility known at each origin. A band "
               "that holds its level only on average is too narrow in one third and too wide in another; with about "
               "150 origins a third, one standard error is about 3 points at 80% and 2 at 95%.",
               className="text-muted small"),
        _table(ids.Compare.TERCILES, tables["terciles"], "band"),
        html.H2("Are the misses clustered?", className="h5 mt-3"),
        html.P("Kupiec: is the share of misses the nominal one. Christoffersen: is a miss followed by a miss more "
               "often than by chance (independence), and both at once (conditional coverage); p below 0.05 rejects. "
               "Beyond one day the h-day outcomes of consecutive origins overlap, so each test runs on the h "
               "interleaved series of origins h days apart and reports h times the smallest p (Bonferroni). Holm's "
               "adjustment is across each band's family: 2 levels x 3 tests x every horizon.",
               className="text-muted small"),
        _table(ids.Compare.TESTS, tables["tests"], "band"),
        html.H2("The networks' bands against their goals", className="h5 mt-3"),
        _table(ids.Compare.GOALS, tables["goals"], "network") if len(tables["goals"]) else
        html.P("No goals stored for these models yet: retrain.", className="text-muted"),
    ]


def _charts_row(snap: Snapshot, loss: dict | None, horizon: dict | None) -> dbc.Row:
    """The loss chart with its note and the by-horizon chart with its measure selector, side by side."""
    row = []
    if loss is not None:
        split = next((v.outputs["predictions"]["split"] for v in snap.cells.values() if "predictions" in v.outputs), None)
        note = html.P(loss_note(snap.closes, split) if split else "", id=ids.Compare.LOSS_NOTE, className="small text-muted")
        row.append(dbc.Col([graph(ids.Compare.LOSS, loss), note], md=6))
    if horizon is not None:
        row.append(dbc.Col([
            dbc.RadioItems(id=ids.Compare.MEASURE, options=[{"label": v, "value": k} for k, v in MEASURES.items()],
                           value="rmse_ratio", inline=True),
            graph(ids.Compare.HORIZON, horizon)], md=6))
    return dbc.Row(row, className="mt-2")


def on_measure(measure: str, ticker: str | None = None):
    try:
        snap = data.snapshot(ticker)
        measure = inputs.choice(measure, MEASURES, "measure")
    except inputs.Refused as exc:
        return empty_figure(f"Refused: {exc}.")
    metrics = _collect(snap, "metrics")
    if not metrics:
        raise dash.exceptions.PreventUpdate
    return data.reads().memo(snap, ("horizon", measure), lambda: data.plain(horizon_figure(metrics, measure)))


def register_callbacks(app: Dash) -> None:
    """This page's callbacks, on the app ``create_app`` is building."""
    app.callback(Output(ids.Compare.HORIZON, "figure"), Input(ids.Compare.MEASURE, "value"), State(ids.Compare.TICKER, "data"),
              prevent_initial_call=True)(on_measure)
