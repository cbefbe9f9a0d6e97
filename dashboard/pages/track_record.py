"""Track record: the forecasts published on earlier days against what happened (the forecast ledger)."""
from __future__ import annotations

import threading
from collections import OrderedDict

import dash
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Dash, Input, Output, State, dash_table, dcc, html, no_update
from dash.development.base_component import Component

from dashboard import data, ids, inputs
from dashboard.navigation import follow_cell, page_title
from dashboard.verdicts import verdict
from dashboard.components import (cell_refused_page, cell_selector, url_cell, download_button, graph, loading, missing, refused_page,
                                  ticker_bar)
from dashboard.figures.track_record import (coverage_figure, cumulative_figure, fan_figure, score_columns, scores_frame,
                                            table_columns, table_records)
from store import ledger_metrics as lm
from store.ledger import KINDS, csv_text
from store.ledger_reads import LedgerView
from contract.vocab import CELLS

dash.register_page(__name__, path="/track-record", name="Track record", title=page_title("Track record"), order=2.5)

PAGE_SIZE = 15
CSV_CACHE_ENTRIES = 4  # the last few CSV texts (up to ~2 MB each): a repeated download is not re-formatted
_CSV: OrderedDict[tuple, str] = OrderedDict()
_CSV_LOCK = threading.Lock()
MAX_HORIZON = 30  # what a horizon filter may ask for; the ledger holds what the models forecast
SCORED = ("all", "scored", "pending")
EMPTY = ("No forecast has been published to the ledger yet.",
         "python -m jobs ledger backfill --days 20 (a replay), or wait for the nightly run to publish")


def _view(ticker: str | None) -> LedgerView:
    """The cached ledger of a configured ticker (None: the default); inputs.Refused for any other."""
    return data.ledger_reads().get(data.ticker_choice(ticker))


def _memo(view: LedgerView, key, build):
    """``build()`` once per version of ``view`` (the web's read cache keeps it beside the view)."""
    return data.ledger_reads().memo(view, key, build)


def _header(view: LedgerView) -> tuple[list[str], int, int, int]:
    """(cells in the ledger, live rows of record, replayed rows of record, superseded rows), once per version."""
    def build():
        cells = set(view.frame["cell"].unique())
        counted = lm.of_record(view.frame)
        kinds = counted["kind"].value_counts()
        return ([c for c in CELLS if c in cells], int(kinds.get("live", 0)), int(kinds.get("replayed", 0)),
                len(view.frame) - len(counted))
    return _memo(view, "header", build)


def cell_view(view: LedgerView, cell: str) -> tuple:
    """(fan, cumulative, coverage, verdict, score records) for one cell, once per ledger version."""
    def build():
        frame = view.frame
        curve = lm.cumulative_advantage(frame, cell, horizon=1)
        closes = data.snapshot(view.ticker).closes
        scores = scores_frame(_memo(view, "scores", lambda: lm.score_table(frame)), cell)
        return (data.plain(fan_figure(closes, lm.last_publication(frame, cell), cell)),
                data.plain(cumulative_figure(curve, lm.champion_changes(curve), cell)),
                data.plain(coverage_figure(lm.coverage_by_horizon(frame, cell), cell)),
                verdict(frame, cell), scores.astype(object).where(scores.notna(), None).to_dict("records"))
    return _memo(view, ("cell", cell), build)


def _filters() -> dbc.Row:
    kinds = [{"label": "live and replayed", "value": "all"}] + [{"label": k, "value": k} for k in KINDS]
    return dbc.Row([
        dbc.Col(dcc.Dropdown(id=ids.Track.FILTER_KIND, options=kinds, value="all", clearable=False), md=3),
        dbc.Col(dcc.Dropdown(id=ids.Track.FILTER_HORIZON, options=[{"label": "every horizon", "value": 0}] +
                             [{"label": f"{h} day{'s' if h > 1 else ''} ahead", "value": h} for h in range(1, 6)],
                             value=0, clearable=False), md=3),
        dbc.Col(dcc.Dropdown(id=ids.Track.FILTER_SCORED, options=[{"label": "scored and pending", "value": "all"},
                                                                 {"label": "scored only", "value": "scored"},
                                                                 {"label": "pending only", "value": "pending"}],
                             value="all", clearable=False), md=3),
        dbc.Col([download_button(ids.Track.DOWNLOAD_BTN, "Download CSV"),
                 dcc.Download(id=ids.Track.DOWNLOAD), html.Div(id=ids.Track.DOWNLOAD_MSG, className="small text-danger")],
                md=3, className="text-end"),
    ], className="g-2 mb-2", align="center")


def _table() -> Component:
    # dash_table's __init__ is '# type: ignore' (star import), so mypy sees no DataTable in it.
    return dash_table.DataTable(  # type: ignore[attr-defined]
        id=ids.Track.TABLE, columns=table_columns(), data=[],
        page_action="custom", page_current=0, page_size=PAGE_SIZE, page_count=1,
        style_table={"overflowX": "auto"}, style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "3px 6px"},
        style_header={"fontWeight": "bold", "backgroundColor": "#ecf0f1"},
        style_data_conditional=[{"if": {"filter_query": '{kind} = "replayed"'}, "color": "#566573"}],
    )


def layout(ticker: str | None = None, cell: str | None = None, **_query):
    try:
        view = _view(ticker)
    except inputs.Refused as exc:
        return refused_page(ids.Track.PAGE, "/track-record", exc, data.settings().tickers)
    return html.Div([ticker_bar(ids.Track.PAGE, "/track-record", view.ticker, data.settings().tickers),
                     page_body(view, cell)])


def page_body(view: LedgerView, wanted: str | None = None):
    if view.empty:
        return html.Div([html.H1(f"{view.ticker} track record", className="h3"), missing(*EMPTY, id_=ids.Track.EMPTY)])
    cells, live, replayed, superseded = _header(view)
    try:
        cell = url_cell(wanted, cells)
    except inputs.Refused as exc:
        return cell_refused_page(ids.Track.PAGE, "/track-record", view.ticker, exc, cells)
    # The charts, verdict and scores come from on_cell, which the cell selector fires as the page
    # loads: the layout itself stays small, and each of the two requests stays quick under load.
    return html.Div([
        dbc.Row([dbc.Col(html.H1(f"{view.ticker} track record", className="h3"), md="auto"),
                 dbc.Col(cell_selector(ids.Track.CELL, cells, cell), md="auto")], align="center", className="mb-2 g-2"),
        html.P(f"Every forecast the product published, kept as it was shown and scored as the closes arrived: "
               f"{live:,} live rows and {replayed:,} replayed rows (made after the "
               f"fact by replaying past days; drawn dotted and counted apart)"
               + (f", and {superseded:,} later publications for origins that already had a forecast "
                  f"(a retrain, promotion or rollback the same day: kept, marked superseded, never counted)"
                  if superseded else "") + ".", className="text-muted", id=ids.Track.SUMMARY),
        dbc.Alert("", id=ids.Track.VERDICT, color="light"),
        dbc.Row([dbc.Col(loading(graph(ids.Track.FAN, {}, height=400)), lg=6),
                 dbc.Col(loading(graph(ids.Track.COVERAGE, {}, height=380)), lg=6)], className="g-2"),
        loading(graph(ids.Track.CUMULATIVE, {}, height=380)),
        html.Div(id=ids.Track.THIRDS),
        html.H2("Figures by horizon: live first, replayed apart", className="h5 mt-3"),
        # as in _table: mypy sees no DataTable in dash_table
        dash_table.DataTable(id=ids.Track.SCORES, data=[], columns=score_columns(), sort_action="native",  # type: ignore[attr-defined]
                             style_table={"overflowX": "auto"}, style_cell={"fontSize": 13, "padding": "3px 6px"},
                             style_header={"fontWeight": "bold", "backgroundColor": "#ecf0f1"}, page_size=15),
        html.H2("The ledger", className="h5 mt-3"),
        _filters(),
        html.Div(id=ids.Track.TABLE_COUNT, className="small text-muted mb-1"),
        _table(),
    ])


def on_cell(cell: str, ticker: str | None = None):
    try:
        view = _view(ticker)
        cell = inputs.choice(cell, CELLS, "cell type")
    except inputs.Refused as exc:
        return no_update, no_update, no_update, f"Refused: {exc}.", no_update
    return cell_view(view, cell)


def thirds_view(view: LedgerView, cell: str) -> Component:
    """Live band coverage per volatility third of the origin (by horizon), once enough live days are scored."""
    def build():
        table, days = lm.coverage_by_third(view.frame, cell, data.snapshot(view.ticker).closes)
        head = html.H2("Live coverage in calm and in turbulent times", className="h5 mt-3")
        if table.empty:
            return html.Div([head, html.P(f"Shown once {lm.LIVE_THIRDS_DAYS} live days are scored one day ahead "
                                          f"({days} so far).", className="text-muted small")])
        rows = []
        for third in lm.THIRDS:
            mine = table[table["third"] == third]
            for tag in ("80", "95"):
                rows.append({"third": third, "level": f"{tag}%", **{f"h={int(r['horizon'])}": f"{r['coverage' + tag] * 100:.1f} ({int(r['n'])})"
                                                                    for r in mine.to_dict("records")}})
        frame = pd.DataFrame(rows)
        note = html.P("The live origins in three equal thirds by the 20-day volatility of returns known at each origin: "
                      "% of closes inside the band (forecasts scored). Compare shows the same split on the backtest.",
                      className="text-muted small")
        # as in _table: mypy sees no DataTable in dash_table
        return html.Div([head, note, dash_table.DataTable(  # type: ignore[attr-defined]
            data=frame.to_dict("records"), columns=[{"name": c, "id": c} for c in frame.columns],
            style_table={"overflowX": "auto"}, style_cell={"fontSize": 13, "padding": "3px 6px"}, style_header={"fontWeight": "bold", "backgroundColor": "#ecf0f1"})])
    return _memo(view, ("thirds", cell), build)


def on_thirds(cell: str, ticker: str | None = None):
    try:
        view = _view(ticker)
        cell = inputs.choice(cell, CELLS, "cell type")
    except inputs.Refused as exc:
        return f"Refused: {exc}."
    return thirds_view(view, cell)


def filtered(view: LedgerView, cell: str, kind: str, horizon: int, scored: str) -> pd.DataFrame:
    """The ledger rows a table filter selects, newest origin first."""
    return view.frame.iloc[_order(view)[_positions(view, cell, kind, horizon, scored)]]


def _order(view: LedgerView) -> np.ndarray:
    """Row positions in table order, newest origin first (an index array, not a second copy of the rows)."""
    def build():
        f = view.frame.reset_index(drop=True)
        return f.sort_values(["origin", "published_at", "cell", "horizon"],
                             ascending=[False, False, True, True]).index.to_numpy()
    return _memo(view, "table-order", build)


DISPLAY = ("origin", "target_date", "horizon", "model_version", "model_id", "predicted", "lower80", "upper80",
           "actual", "persistence", "kind", "of_record", "published_at")


def _columns(view: LedgerView) -> dict:
    """The table's columns in table order as numpy arrays, and the filter columns as small integer codes:
    a page request is a few vector comparisons and fifteen row look-ups, no DataFrame work."""
    def build():
        t = view.frame.iloc[_order(view)]
        cells, cell_names = pd.factorize(t["cell"])
        kinds, kind_names = pd.factorize(t["kind"])
        arrays = {c: t[c].to_numpy(dtype=float, na_value=np.nan) if c == "model_id" else t[c].to_numpy()
                  for c in DISPLAY}
        return {"cell": (cells.astype(np.int8), list(cell_names)), "kind": (kinds.astype(np.int8), list(kind_names)),
                "horizon": t["horizon"].to_numpy(np.int16), "scored": t["actual"].notna().to_numpy(),
                "display": arrays}
    return _memo(view, "table-columns", build)


def _is(column: tuple, value: str):
    codes, names = column
    return codes == (names.index(value) if value in names else -2)


def _positions(view: LedgerView, cell: str, kind: str, horizon: int, scored: str):
    c = _columns(view)
    mask = _is(c["cell"], cell)
    if kind in KINDS:
        mask &= _is(c["kind"], kind)
    if horizon:
        mask &= c["horizon"] == horizon
    if scored in ("scored", "pending"):
        mask &= c["scored"] == (scored == "scored")
    return np.flatnonzero(mask)


def _filters_of(cell, kind, horizon, scored) -> tuple[str, str, int, str]:
    """The table's filters as the page offers them; inputs.Refused for anything else."""
    return (inputs.choice(cell, CELLS, "cell type"), inputs.choice(kind, ("all", *KINDS), "kind"),
            inputs.whole_number(horizon, "horizon", 0, MAX_HORIZON), inputs.choice(scored, SCORED, "scored filter"))


def on_table(page: int | None, cell: str, kind: str, horizon: int, scored: str, ticker: str | None = None):
    try:
        view = _view(ticker)
        cell, kind, horizon, scored = _filters_of(cell, kind, horizon, scored)
        page = inputs.whole_number(page or 0, "page", 0, inputs.MAX_DB_INT)
    except inputs.Refused as exc:
        return no_update, no_update, f"Refused: {exc}.", no_update
    positions = _positions(view, cell, kind, horizon, scored)
    pages = max(1, -(-len(positions) // PAGE_SIZE))
    # A new filter or cell starts on the first page; paging is clamped to the pages there are.
    paging = dash.callback_context.triggered_id == ids.Track.TABLE
    page = min(page, pages - 1) if paging else 0
    shown = positions[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    return table_records({c: a[shown] for c, a in _columns(view)["display"].items()}), pages, f"{len(positions):,} rows; page {page + 1} of {pages}", page


def on_download(_n, cell: str, kind: str, horizon: int, scored: str, ticker: str | None = None):
    try:
        view = _view(ticker)
        cell, kind, horizon, scored = _filters_of(cell, kind, horizon, scored)
    except inputs.Refused as exc:
        return no_update, f"Refused: {exc}."
    key = (view.ticker, view.version, cell, kind, horizon, scored)
    with _CSV_LOCK:
        text = _CSV.get(key)
    if text is None:
        rows = filtered(view, cell, kind, horizon, scored).sort_values(["published_at", "origin", "horizon", "id"])
        text = csv_text(rows, ticker=view.ticker)  # as `python -m jobs export ledger` writes it, oldest first
        with _CSV_LOCK:
            _CSV[key] = text
            while len(_CSV) > CSV_CACHE_ENTRIES:
                _CSV.popitem(last=False)
    return dict(content=text, filename=f"{view.ticker}-{cell}-ledger.csv", type="text/csv"), ""


def register_callbacks(app: Dash) -> None:
    """This page's callbacks, on the app ``create_app`` is building."""
    app.callback(Output(ids.Track.FAN, "figure"), Output(ids.Track.CUMULATIVE, "figure"), Output(ids.Track.COVERAGE, "figure"),
              Output(ids.Track.VERDICT, "children"), Output(ids.Track.SCORES, "data"),
              Input(ids.Track.CELL, "value"), State(ids.Track.TICKER, "data"))(on_cell)
    app.callback(Output(ids.Track.THIRDS, "children"), Input(ids.Track.CELL, "value"), State(ids.Track.TICKER, "data"))(on_thirds)
    follow_cell(app, ids.Track.CELL)
    app.callback(Output(ids.Track.TABLE, "data"), Output(ids.Track.TABLE, "page_count"), Output(ids.Track.TABLE_COUNT, "children"),
              Output(ids.Track.TABLE, "page_current"), Input(ids.Track.TABLE, "page_current"), Input(ids.Track.CELL, "value"), Input(ids.Track.FILTER_KIND, "value"),
              Input(ids.Track.FILTER_HORIZON, "value"), Input(ids.Track.FILTER_SCORED, "value"), State(ids.Track.TICKER, "data"))(on_table)
    app.callback(Output(ids.Track.DOWNLOAD, "data"), Output(ids.Track.DOWNLOAD_MSG, "children"),
              Input(ids.Track.DOWNLOAD_BTN, "n_clicks"), State(ids.Track.CELL, "value"), State(ids.Track.FILTER_KIND, "value"),
              State(ids.Track.FILTER_HORIZON, "value"), State(ids.Track.FILTER_SCORED, "value"), State(ids.Track.TICKER, "data"),
              prevent_initial_call=True)(on_download)
