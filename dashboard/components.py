"""Small layout pieces shared by the pages."""
from __future__ import annotations

from datetime import date, datetime, timezone
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from dashboard import data, ids, inputs
from dashboard.figures.common import empty_figure

from contract.vocab import CELL_LABELS, CELLS, DEFAULT_CELL
from marketdata.calendar import market_date

# The toolbar only while the pointer is over a chart: always shown it covers range buttons and titles.
GRAPH_CONFIG: dcc.Graph.Config = {"displaylogo": False, "displayModeBar": "hover"}


def graph(id_: str, figure, height: int | None = None) -> dcc.Graph:
    """A chart; one whose figure a callback sends later (``figure`` empty) says so meanwhile, never an empty
    Plotly frame with axes -1..6."""
    if not figure:
        figure = empty_figure("Loading the chart...", height=height or 300)
    return dcc.Graph(id=id_, figure=figure, config=GRAPH_CONFIG, className="dash-graph-panel")


def loading(child: Component) -> dcc.Loading:
    """``child`` with a spinner over it while a callback is drawing it (shown after a short delay, so a quick
    answer does not flicker)."""
    return dcc.Loading(child, type="circle", delay_show=300, overlay_style={"visibility": "visible", "opacity": 0.5})


def download_button(id_: str, text: str) -> dbc.Button:
    """A solid button: an outlined grey one on white reads as disabled."""
    return dbc.Button(["\u2913 ", text], id=id_, color="primary", size="sm")


def missing(what: str, fill: str, id_: str | None = None) -> dbc.Alert:
    """An empty-store notice: what is missing and which command fills it."""
    kw = {"id": id_} if id_ else {}
    return dbc.Alert([html.H2(what, className="h5 alert-heading"), html.P(["To fill it: ", html.Code(fill)], className="mb-0")],
                     color="light", className="mt-2 border", **kw)


def card(title: str, value, detail=None, id_: str | None = None) -> dbc.Card:
    kw = {"id": id_} if id_ else {}
    return dbc.Card(dbc.CardBody([
        html.Div(title, className="text-muted small text-uppercase"),
        html.Div(value, className="fs-4 fw-bold card-value"),
        html.Div(detail, className="small text-muted") if detail else None,
    ]), className="h-100", **kw)


def cell_selector(id_: str, cells: list[str], value: str) -> html.Div:
    """The cell buttons, and the store their choice is written to the address bar through
    (navigation.follow_cell): ``?cell=lstm`` opens the page on it, so a view can be shared."""
    return html.Div([
        dbc.RadioItems(id=id_, options=[{"label": CELL_LABELS.get(c, c), "value": c} for c in cells], value=value,
                       inline=True, className="btn-group", inputClassName="btn-check",
                       labelClassName="btn btn-outline-primary", labelCheckedClassName="active"),
        dcc.Store(id=ids.cell_url(id_))])


def default_cell(cells) -> str:
    cells = list(cells)
    return DEFAULT_CELL if DEFAULT_CELL in cells else cells[0]


def url_cell(value: str | None, offered) -> str:
    """The cell a page opens on: ``?cell=`` when given (one of contract.vocab's cells that this page offers,
    else inputs.Refused naming the choices), the default cell otherwise."""
    offered = list(offered)
    if value is None:
        return default_cell(offered)
    inputs.choice(value, CELLS, "cell type")
    if value not in offered:
        raise inputs.Refused(f"{CELL_LABELS[value]} has nothing to show here yet; choose from {', '.join(offered)}")
    return value


def cell_refused_page(page: str, path: str, ticker: str, reason: Exception, offered) -> html.Div:
    """What a page shows for a ``?cell=`` it cannot show: the refusal and links to the cells it can."""
    links = [dbc.Button(CELL_LABELS.get(c, c), href=f"{path}?{urlencode(dict(ticker=ticker, cell=c))}",
                        external_link=True, size="sm", outline=True, color="primary") for c in offered]
    return html.Div([dbc.Alert(f"No such cell choice here: {reason}.", color="warning", id=ids.cell_refused(page)),
                     dbc.ButtonGroup(links, className="mb-2")])


def ago(when: datetime | date | None, now: datetime | None = None) -> str:
    """'3 hours ago' style freshness."""
    if when is None:
        return "never"
    now = now or data.now()
    if isinstance(when, datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        secs = (now - when).total_seconds()
    else:
        secs = (market_date(now) - when).days * 86400  # a date is a market day: count on New York's calendar
    if secs < 90:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if secs >= size:
            n = int(secs // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def fmt_dt(when) -> str:
    if when is None:
        return "-"
    if isinstance(when, datetime):
        return when.strftime("%Y-%m-%d %H:%M UTC" if when.tzinfo else "%Y-%m-%d %H:%M")
    return str(when)


def ticker_bar(page: str, path: str, current: str, tickers) -> html.Div:
    """The page's ticker (a Store its callbacks read) and, with several tickers, links
    to switch: the ticker lives in the URL (``?ticker=MSFT``), so a view can be shared."""
    parts = [dcc.Store(id=ids.ticker_store(page), data=current)]
    if len(tickers) > 1:
        parts.append(dbc.ButtonGroup([
            dbc.Button(t, href=f"{path}?ticker={t}", external_link=True, size="sm", outline=t != current,
                       color="primary", id=ids.ticker_button(page, t))
            for t in tickers], className="mb-2"))
    return html.Div(parts)


def refused_page(page: str, path: str, reason: Exception, tickers) -> html.Div:
    """What a page shows for a ticker that is not configured: the refusal and the tickers
    that are (never another ticker's data in its place)."""
    links = [dbc.Button(t, href=f"{path}?ticker={t}", external_link=True, size="sm", outline=True, color="primary",
                        id=ids.ticker_button(page, t)) for t in tickers]
    return html.Div([dbc.Alert(f"No such ticker here: {reason}.", color="warning", id=ids.refused(page)),
                     dbc.ButtonGroup(links, className="mb-2")])
