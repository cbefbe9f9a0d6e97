"""Track record: the forecasts published on earlier days against what happened (the forecast ledger)."""
from __future__ import annotations

import io

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dash_table, dcc, html

from dashboard import data
from dashboard.components import cell_selector, default_cell, graph, missing, ticker_bar
from dashboard.figures.track_record import (TABLE_COLUMNS, coverage_figure, cumulative_figure, fan_figure,
                                            scores_frame, table_records)
from marketdata import ledger_metrics as lm
from marketdata.ledger import KINDS, write_csv
from marketdata.ledger_reads import LedgerView
from marketdata.outputs import CELLS

dash.register_page(__name__, path="/track-record", name="Track record", title="Track record - AAPL", order=2.5)

PAGE_SIZE = 15
HORIZONS = range(1, 31)  # what a horizon filter may ask for; the ledger holds what the models forecast
EMPTY = ("No forecast has been published to the ledger yet.",
         "python -m jobs ledger backfill --days 20 (a replay), or wait for the nightly run to publish")


def _view(ticker: str | None) -> LedgerView:
    return data.ledger_reads().get(data.ticker_choice(ticker))


def _cells(view: LedgerView) -> list[str]:
    present = set(view.frame["cell"])
    return [c for c in CELLS if c in present]


def cell_view(view: LedgerView, cell: str) -> tuple:
    """(fan, cumulative, coverage, verdict, score records) for one cell, once per ledger version."""
    def build():
        frame = view.frame
        curve = lm.cumulative_advantage(frame, cell, horizon=1)
        closes = data.snapshot(view.ticker).closes
        scores = scores_frame(view.memo("scores", lambda: lm.score_table(frame)), cell)
        return (data.plain(fan_figure(closes, lm.last_publication(frame, cell), cell)),
                data.plain(cumulative_figure(curve, lm.champion_changes(curve), cell)),
                data.plain(coverage_figure(lm.coverage_by_horizon(frame, cell), cell)),
                lm.verdict(frame, cell), scores.astype(object).where(scores.notna(), None).to_dict("records"))
    return view.memo(("cell", cell), build)


def _filters() -> dbc.Row:
    kinds = [{"label": "live and replayed", "value": "all"}] + [{"label": k, "value": k} for k in KINDS]
    return dbc.Row([
        dbc.Col(dcc.Dropdown(id="track-filter-kind", options=kinds, value="all", clearable=False), md=3),
        dbc.Col(dcc.Dropdown(id="track-filter-horizon", options=[{"label": "every horizon", "value": 0}] +
                             [{"label": f"{h} day{'s' if h > 1 else ''} ahead", "value": h} for h in range(1, 6)],
                             value=0, clearable=False), md=3),
        dbc.Col(dcc.Dropdown(id="track-filter-scored", options=[{"label": "scored and pending", "value": "all"},
                                                                 {"label": "scored only", "value": "scored"},
                                                                 {"label": "pending only", "value": "pending"}],
                             value="all", clearable=False), md=3),
        dbc.Col([dbc.Button("Download CSV", id="track-download-btn", color="secondary", outline=True, size="sm"),
                 dcc.Download(id="track-download")], md=3, className="text-end"),
    ], className="g-2 mb-2", align="center")


def _table() -> dash_table.DataTable:
    return dash_table.DataTable(
        id="track-table", columns=[{"name": n, "id": i} for i, n in TABLE_COLUMNS], data=[],
        page_action="custom", page_current=0, page_size=PAGE_SIZE, page_count=1,
        style_table={"overflowX": "auto"}, style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "3px 6px"},
        style_header={"fontWeight": "bold", "backgroundColor": "#ecf0f1"},
        style_data_conditional=[{"if": {"filter_query": '{kind} = "replayed"'}, "color": "#7b8a8b"}],
    )


def layout(ticker: str | None = None, **_query):
    view = _view(ticker)
    return html.Div([ticker_bar("track", "/track-record", view.ticker, data.settings().tickers), page_body(view)])


def page_body(view: LedgerView):
    if view.empty:
        return html.Div([html.H3("Track record"), missing(*EMPTY, id_="track-empty")])
    cells = _cells(view)
    cell = default_cell(cells)
    fan, cumulative, coverage, words, scores = cell_view(view, cell)
    counts = view.frame["kind"].value_counts()
    return html.Div([
        dbc.Row([dbc.Col(html.H3(f"{view.ticker} track record"), md="auto"),
                 dbc.Col(cell_selector("track-cell", cells, cell), md="auto")], align="center", className="mb-2 g-2"),
        html.P(f"Every forecast the product published, kept as it was shown and scored as the closes arrived: "
               f"{counts.get('live', 0):,} live rows and {counts.get('replayed', 0):,} replayed rows (made after the "
               f"fact by replaying past days; drawn dotted and counted apart).", className="text-muted"),
        dbc.Alert(words, id="track-verdict", color="light"),
        dbc.Row([dbc.Col(graph("track-fan", fan), lg=6), dbc.Col(graph("track-coverage", coverage), lg=6)],
                className="g-2"),
        graph("track-cumulative", cumulative),
        html.H5("Live figures by horizon", className="mt-3"),
        dash_table.DataTable(id="track-scores", data=scores,
                             columns=[{"name": c, "id": c} for c in (scores[0] if scores else {})],
                             style_table={"overflowX": "auto"}, style_cell={"fontSize": 13, "padding": "3px 6px"},
                             style_header={"fontWeight": "bold", "backgroundColor": "#ecf0f1"}, page_size=15),
        html.H5("The ledger", className="mt-3"),
        _filters(),
        html.Div(id="track-table-count", className="small text-muted mb-1"),
        _table(),
    ])


@callback(Output("track-fan", "figure"), Output("track-cumulative", "figure"), Output("track-coverage", "figure"),
          Output("track-verdict", "children"), Output("track-scores", "data"),
          Input("track-cell", "value"), State("track-ticker", "data"), prevent_initial_call=True)
def on_cell(cell: str, ticker: str | None = None):
    view = _view(ticker)
    if cell not in CELLS or view.empty:
        raise dash.exceptions.PreventUpdate
    return cell_view(view, cell)


def filtered(view: LedgerView, cell: str, kind: str, horizon: int, scored: str) -> pd.DataFrame:
    """The ledger rows a table filter selects, newest origin first (memoised per version)."""
    def build():
        frame = view.frame
        rows = frame[frame["cell"] == cell]
        if kind in KINDS:
            rows = rows[rows["kind"] == kind]
        if horizon:
            rows = rows[rows["horizon"] == horizon]
        if scored in ("scored", "pending"):
            rows = rows[rows["actual"].notna() == (scored == "scored")]
        return rows.sort_values(["origin", "published_at", "horizon"], ascending=[False, False, True])
    return view.memo(("rows", cell, kind, horizon, scored), build)


def _valid(cell, kind, horizon, scored) -> bool:
    return (cell in CELLS and kind in ("all", *KINDS) and isinstance(horizon, int) and not isinstance(horizon, bool)
            and (horizon == 0 or horizon in HORIZONS) and scored in ("all", "scored", "pending"))


@callback(Output("track-table", "data"), Output("track-table", "page_count"), Output("track-table-count", "children"),
          Input("track-table", "page_current"), Input("track-cell", "value"), Input("track-filter-kind", "value"),
          Input("track-filter-horizon", "value"), Input("track-filter-scored", "value"), State("track-ticker", "data"))
def on_table(page: int | None, cell: str, kind: str, horizon: int, scored: str, ticker: str | None = None):
    if not _valid(cell, kind, horizon, scored):
        raise dash.exceptions.PreventUpdate
    view = _view(ticker)
    rows = filtered(view, cell, kind, horizon, scored)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(int(page or 0), 0), pages - 1)
    shown = rows.iloc[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    return table_records(shown), pages, f"{len(rows):,} rows; page {page + 1} of {pages}"


@callback(Output("track-download", "data"), Input("track-download-btn", "n_clicks"), State("track-cell", "value"),
          State("track-filter-kind", "value"), State("track-filter-horizon", "value"),
          State("track-filter-scored", "value"), State("track-ticker", "data"), prevent_initial_call=True)
def on_download(_n, cell: str, kind: str, horizon: int, scored: str, ticker: str | None = None):
    if not _valid(cell, kind, horizon, scored):
        raise dash.exceptions.PreventUpdate
    view = _view(ticker)
    rows = filtered(view, cell, kind, horizon, scored).sort_values(["published_at", "origin", "horizon", "id"])
    out = io.StringIO()
    write_csv(rows.to_dict("records"), out)  # the columns of `python -m jobs export ledger`, oldest first
    return dict(content=out.getvalue(), filename=f"{view.ticker}-{cell}-ledger.csv", type="text/csv")
