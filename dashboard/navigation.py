"""The navbar, and the ticker travelling with it: every link, the brand and the tab title name
the ticker of the page being shown (``?ticker=MSFT``)."""
from __future__ import annotations

from collections.abc import Callable

import dash
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html

from dashboard import auth, data, ids, inputs, not_found

BRAND = "recurrent forecasts"

# Runs in the browser on every navigation: no round trip. A ticker that is not configured
# is not carried on (its page shows the refusal); the server validates again anyway.
FOLLOW_TICKER_JS = """
function(search, pathname, cfg) {
    const wanted = (new URLSearchParams(search || "").get("ticker") || "").trim().toUpperCase();
    const known = cfg.tickers.includes(wanted);
    const ticker = known ? wanted : cfg.default;
    const query = known ? "?ticker=" + encodeURIComponent(ticker) : "";
    const brand = (wanted && !known) ? "Recurrent forecasts" : ticker + " " + cfg.brand;
    // dbc's active="exact" compares the whole href, query included, so say which link is active here
    return [brand, "/" + query, ...cfg.paths.map(p => p + query), ...cfg.paths.map(p => p === pathname)];
}
"""


# A phone's menu (the collapsed navbar) stays open after a link is followed, over the new page: fold it.
CLOSE_MENU_JS = """
function(pathname) {
    const open = document.querySelector("#%s .navbar-collapse.show");
    const toggler = document.querySelector("#%s .navbar-toggler");
    if (open && toggler && getComputedStyle(toggler).display !== "none") { toggler.click(); }
    return pathname;
}
""" % (ids.Nav.BAR, ids.Nav.BAR)


# A cell chosen on the page goes into the address bar (``?cell=lstm``, the ticker kept) without a reload or a
# new history entry, so the address can be shared; the page's layout reads it back (components.url_cell).
CELL_URL_JS = """
function(cell) {
    const url = new URL(window.location.href);
    if (cell && url.searchParams.get("cell") !== cell) {
        url.searchParams.set("cell", cell);
        window.history.replaceState(window.history.state, "", url.toString());
    }
    return cell;
}
"""


def follow_cell(app: Dash, selector: str) -> None:
    """Write the cell ``selector``'s choice to the address bar (not on the page's first draw: its own address)."""
    app.clientside_callback(CELL_URL_JS, Output(ids.cell_url(selector), "data"), Input(selector, "value"),
                            prevent_initial_call=True)


def _pages() -> list[dict]:
    """The pages the navbar links to, in their order (the not-found page is none)."""
    return sorted((p for p in dash.page_registry.values() if not_found.is_page(p)), key=lambda p: p.get("order", 99))


def _link_id(page: dict) -> str:
    return f"nav-{page['module'].rsplit('.', 1)[-1]}"


def navbar() -> html.Div:
    settings = data.settings()
    links = [dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active=False, id=_link_id(page),
                                     # The admin page is a full page load so the browser answers the Basic-auth challenge.
                                     external_link=page["path"] == auth.ADMIN_PATH))
             for page in _pages()]
    cfg = {"tickers": list(settings.tickers), "default": settings.default_ticker, "brand": BRAND,
           "paths": [p["relative_path"] for p in _pages()]}
    return html.Div([
        dcc.Store(id=ids.Nav.CONFIG, data=cfg),
        dcc.Store(id=ids.Nav.CLOSED),
        dbc.NavbarSimple(links, id=ids.Nav.BAR, brand=f"{settings.default_ticker} {BRAND}", brand_href="/",
                         color="primary", dark=True, className="mb-3"),
    ])


def install(app: Dash) -> None:
    """Register the callback that rewrites brand and links for the ticker in the address bar."""
    outputs = [Output(ids.Nav.BAR, "brand"), Output(ids.Nav.BAR, "brand_href")]
    outputs += [Output(_link_id(p), "href") for p in _pages()]
    outputs += [Output(_link_id(p), "active") for p in _pages()]
    app.clientside_callback(FOLLOW_TICKER_JS, *outputs, Input("_pages_location", "search"),
                            Input("_pages_location", "pathname"), State(ids.Nav.CONFIG, "data"))
    app.clientside_callback(CLOSE_MENU_JS, Output(ids.Nav.CLOSED, "data"), Input("_pages_location", "pathname"),
                            prevent_initial_call=True)


def shown_ticker() -> str | None:
    """The ticker of the page being routed (the router callback's ``search`` input): the default
    without one, None when it names a ticker that is not configured."""
    try:
        search = dash.ctx.inputs.get("_pages_location.search") or ""
    except Exception:  # outside a callback (the index HTML's meta tags): the router sets the title right after
        search = ""
    from urllib.parse import parse_qs

    values = parse_qs(search.lstrip("?")).get("ticker") or [None]
    try:
        return data.ticker_choice(values[0])
    except inputs.Refused:
        return None


def page_title(name: str) -> Callable[..., str]:
    """``title=`` for register_page: 'Forecast - MSFT' for the ticker being shown."""
    def title(**_path_variables) -> str:
        ticker = shown_ticker()
        return f"{name} - {ticker}" if ticker else f"{name} - unknown ticker"
    return title
