"""HTTP 404 for an address with no page: an unknown path (``/nope``) or a ticker that is not configured.

Dash serves its one index page for every path and draws the page (or the not-found page) in the browser,
always with status 200; a link checker, a crawler or ``curl`` then sees a page where there is none. The
index response of such an address keeps its body (the browser still draws the plain message) and gets 404.
"""
from __future__ import annotations

from dash import Dash
from flask import Response, request

from contract.vocab import CELLS
from dashboard import data, inputs

NOT_FOUND_MODULE = "not_found_404"  # Dash's name for the page it draws for an unknown path


def is_page(page: dict) -> bool:
    """Whether a registry entry is a real page (the not-found page is not one: no link, no 200)."""
    return bool(page) and page.get("module", "").rsplit(".", 1)[-1] != NOT_FOUND_MODULE


def missing(app: Dash, path: str, ticker: str | None, cell: str | None = None) -> bool:
    """Whether ``path`` (with ``?ticker=`` and ``?cell=``) names nothing this app shows (a cell type that is
    not one of contract.vocab's; a known one not trained yet is the page's own notice, with 200)."""
    from dash._pages import _path_to_page

    try:
        page, _variables = _path_to_page(app.strip_relative_path(path))
    except Exception:
        return True
    if not is_page(page):
        return True
    try:
        if ticker is not None:
            data.ticker_choice(ticker)
        if cell is not None:
            inputs.choice(cell, CELLS, "cell type")
    except inputs.Refused:
        return True
    return False


def install(app: Dash) -> None:
    """Answer 404 (same body) for the index page of an address with no page."""
    def status(response: Response) -> Response:
        if request.method == "GET" and response.status_code == 200 and response.mimetype == "text/html" \
                and missing(app, request.path, request.args.get("ticker"), request.args.get("cell")):
            response.status_code = 404
        return response
    app.server.after_request(status)
