"""Admin callbacks for champions: roll back after a confirmation naming what stops serving; promote
only after a dialog that shows the candidate and the champion side by side on the same window."""
from __future__ import annotations

from dash import Dash, Input, Output, State, ctx, no_update

from contract.errors import Refusal

from contract.vocab import CELLS
from store import registry as model_registry

from dashboard import auth, data, ids, inputs
from dashboard.admin import actions, promotion, views
from dashboard.admin.guard import admin_callback, chosen_ticker
from dashboard.admin.layout import alert


def _champion_refused(exc: Refusal):
    if isinstance(exc, auth.NotAuthorized):
        return alert("warning", str(exc))
    # a bad id, another ticker's model, already champion, no earlier one
    return alert("danger", f"Refused: {exc}", id_=ids.Admin.CHAMPION_REFUSED)


@admin_callback(on_refusal=_champion_refused)
def on_champion(user: str, _p, _r, model_id, cell, ticker=None):
    """Roll back at once; a promotion is only checked here (the confirmation dialog does it)."""
    ticker = chosen_ticker(ticker)
    if ctx.triggered_id == ids.Admin.PROMOTE:
        if model_id is None:
            return alert("warning", "Choose a model to promote.")
        promotion.compare(data.engine(), model_id, ticker)
        return None  # valid: the dialog shows candidate and champion side by side
    if not cell:
        return alert("warning", "Choose a cell type to roll back.")
    inputs.choice(cell, CELLS, "cell type")
    return None  # valid: the dialog asks first


def _and_serve(msg: str, ticker: str) -> str:
    """A new champion serves at once: its stored forecast may be from an older close (its training's)."""
    serve = actions.request_serve(data.settings(), data.engine(), ticker)
    return f"{msg} {serve}" if serve else msg


@admin_callback(on_refusal=lambda _exc: (False, None, no_update, no_update))  # on_champion says why
def on_promote_ask(_user: str, _n, _c, _a, model_id, ticker=None):
    """Open the dialog on Promote...; close it on either of its buttons. When the candidate is worse
    the confirming button is not the green of a safe choice: it says what it does despite the warning."""
    if ctx.triggered_id != ids.Admin.PROMOTE:
        return False, no_update, no_update, no_update
    comparison = promotion.compare(data.engine(), model_id, chosen_ticker(ticker))
    worse = comparison.candidate_worse
    return (True, views.comparison_view(comparison), "danger" if worse else "success",
            "Promote anyway (worse)" if worse else "Promote")


@admin_callback(on_refusal=lambda _exc: (False, None))  # on_champion says why
def on_rollback_ask(_user: str, _n, _c, _a, cell, ticker=None):
    """Open the confirmation on Roll back, naming what stops serving; close it on either of its buttons."""
    if ctx.triggered_id != ids.Admin.ROLLBACK or not cell:
        return False, no_update
    ticker, cell = chosen_ticker(ticker), inputs.choice(cell, CELLS, "cell type")
    return True, views.rollback_view(ticker, cell, model_registry.champion(data.engine(), ticker, cell),
                                     model_registry.champion_events(data.engine(), ticker, cell, limit=1))


@admin_callback(on_refusal=_champion_refused)
def on_rollback_confirm(user: str, _n, cell, ticker=None):
    ticker = chosen_ticker(ticker)
    msg = actions.rollback(data.engine(), ticker, cell, f"ui:{user}", data.now())
    return alert("success", _and_serve(msg, ticker), id_=ids.Admin.ROLLED_BACK)


@admin_callback(on_refusal=_champion_refused)
def on_promote_confirm(user: str, _c, model_id, ticker=None):
    if model_id is None:
        return alert("warning", "Choose a model to promote.")
    ticker = chosen_ticker(ticker)
    msg = actions.promote(data.engine(), model_id, ticker, f"ui:{user}", data.now())
    return alert("success", _and_serve(msg, ticker), id_=ids.Admin.PROMOTED)


def register_callbacks(app: Dash) -> None:
    app.callback(
        Output(ids.Admin.CHAMPION_MSG, "children"),
        Input(ids.Admin.PROMOTE, "n_clicks"),
        Input(ids.Admin.ROLLBACK, "n_clicks"),
        State(ids.Admin.PROMOTE_MODEL, "value"),
        State(ids.Admin.ROLLBACK_CELL, "value"),
        State(ids.Admin.TICKER, "value"),
        prevent_initial_call=True,
    )(on_champion)
    app.callback(
        Output(ids.Admin.PROMOTE_MODAL, "is_open"),
        Output(ids.Admin.PROMOTE_COMPARE, "children"),
        Output(ids.Admin.PROMOTE_CONFIRM, "color"),
        Output(ids.Admin.PROMOTE_CONFIRM, "children"),
        Input(ids.Admin.PROMOTE, "n_clicks"),
        Input(ids.Admin.PROMOTE_CONFIRM, "n_clicks"),
        Input(ids.Admin.PROMOTE_ABORT, "n_clicks"),
        State(ids.Admin.PROMOTE_MODEL, "value"),
        State(ids.Admin.TICKER, "value"),
        prevent_initial_call=True,
    )(on_promote_ask)
    app.callback(
        Output(ids.Admin.PROMOTE_DONE, "children"),
        Input(ids.Admin.PROMOTE_CONFIRM, "n_clicks"),
        State(ids.Admin.PROMOTE_MODEL, "value"),
        State(ids.Admin.TICKER, "value"),
        prevent_initial_call=True,
    )(on_promote_confirm)
    app.callback(
        Output(ids.Admin.ROLLBACK_MODAL, "is_open"),
        Output(ids.Admin.ROLLBACK_ASK, "children"),
        Input(ids.Admin.ROLLBACK, "n_clicks"),
        Input(ids.Admin.ROLLBACK_CONFIRM, "n_clicks"),
        Input(ids.Admin.ROLLBACK_ABORT, "n_clicks"),
        State(ids.Admin.ROLLBACK_CELL, "value"),
        State(ids.Admin.TICKER, "value"),
        prevent_initial_call=True,
    )(on_rollback_ask)
    app.callback(
        Output(ids.Admin.CHAMPION_MSG, "children", allow_duplicate=True),
        Input(ids.Admin.ROLLBACK_CONFIRM, "n_clicks"),
        State(ids.Admin.ROLLBACK_CELL, "value"),
        State(ids.Admin.TICKER, "value"),
        prevent_initial_call=True,
    )(on_rollback_confirm)
