"""The admin's slow work, as Dash background callbacks: a run and a price fetch.

They run in another process (a diskcache child of the web worker, or the Celery worker),
without the browser's request, so each starts from a signed ticket that an authenticated
callback issued (``dashboard.auth``): a fetch's lives a minute and is spent once; a run's names
the run request that callback queued in the store, waits with it as long as the queue is busy,
and is spent by claiming the request (``jobs.requests``). This module imports
no page and no app: the Celery worker (``dashboard.worker``) registers these callbacks
with its manager by calling :func:`register_callbacks` with ``dash.callback``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dash import Input, Output, html

from dashboard import data, ids
from dashboard.admin import actions
from dashboard.admin.layout import alert


def on_run_ticket(ticket):
    color, message = actions.execute_run(data.settings(), ticket, data.now())
    return alert(color, message, id_=ids.Admin.RUN_OUTCOME), None


def on_fetch_ticket(ticket):
    color, message = actions.execute_fetch(data.settings(), ticket, data.now())
    return alert(color, message, id_=ids.Admin.FETCH_RESULT)


def register_callbacks(callback: Callable[..., Any]) -> None:
    """``callback``: ``app.callback`` in the web, ``dash.callback`` in the worker; both register
    the same functions under the same keys with the background-callback manager."""
    callback(
        Output(ids.Admin.RUN_RESULT, "children"),
        Output(ids.Admin.START_MSG, "children", allow_duplicate=True),
        Input(ids.Admin.TICKET, "data"),
        background=True,
        running=[(Output(ids.Admin.START, "disabled"), True, False)],
        prevent_initial_call=True,
    )(on_run_ticket)
    callback(
        Output(ids.Admin.FETCH_MSG, "children"),
        Input(ids.Admin.FETCH_TICKET, "data"),
        background=True,
        running=[(Output(ids.Admin.FETCH, "disabled"), True, False),
                 (Output(ids.Admin.FETCH_RUNNING, "children"),
                  html.Span([html.Span(className="spinner-border spinner-border-sm me-1"), "Fetching prices..."]), None)],
        prevent_initial_call=True,
    )(on_fetch_ticket)
