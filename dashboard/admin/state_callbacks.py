"""Admin controls that say what applies now: Epochs only where a run uses it, Start disabled (with
the reason) while another process holds the ticker's training lease, and only the one of Pause and
Resume that changes anything enabled."""
from __future__ import annotations

from dash import Dash, Input, Output, State

from store import lease as leases
from store.pause import paused

from dashboard import data, ids
from dashboard.admin.guard import admin_callback, chosen_ticker
from dashboard.admin.unchanged import only_changed, sent

NIGHTLY_EPOCHS = ("The nightly pipeline trains with its scheduled epochs (fine-tune or retrain as the plan says); "
                  "this field applies to a fine-tune or a full retrain.")


def on_action(action):
    """Epochs is disabled, and says why, for "Run the nightly pipeline now" (the pipeline ignores it)."""
    nightly = action == "auto"
    return nightly, NIGHTLY_EPOCHS if nightly else ""


@admin_callback(on_refusal=lambda _exc: ("", None))
def on_busy(_user: str, _n, ticker=None, shown=None):
    """The reason, sent only when it changed (``shown``: the page's digest)."""
    return sent(only_changed((busy_reason(chosen_ticker(ticker)),), shown))


def busy_reason(ticker: str) -> str:
    """Why a Start now would wait: a live training lease of the ticker means a run in progress, whoever
    started it (a CLI run, the clock, a worker). Start stays enabled: every run is a request in the
    queue, and one started now waits behind that run, shown as queued, then runs (issue 23's queue)."""
    engine = data.engine()
    held = leases.current_lease(engine, leases.training_lease(ticker), live=True)
    if held is None:
        return ""
    return (f"{ticker} has {leases.busy_message(engine, held)}: a run started now is queued behind it and "
            "starts when it ends.")


@admin_callback(on_refusal=lambda _exc: (False, False))
def on_pause_state(_user: str, _clock, _msg):
    """(Pause disabled, Resume disabled) from the stored flag the clock reads."""
    is_paused = paused(data.engine()) is not None
    return is_paused, not is_paused


def register_callbacks(app: Dash) -> None:
    app.callback(Output(ids.Admin.EPOCHS, "disabled"), Output(ids.Admin.EPOCHS_HELP, "children"),
                 Input(ids.Admin.ACTION, "value"))(on_action)
    app.callback(Output(ids.Admin.START_BUSY, "children"), Output(ids.Admin.BUSY_SHOWN, "data"),
                 Input(ids.Admin.POLL, "n_intervals"), State(ids.Admin.TICKER, "value"),
                 State(ids.Admin.BUSY_SHOWN, "data"), prevent_initial_call=True)(on_busy)
    # CLOCK is redrawn by the poll when it changed (run_callbacks.on_poll: the pause flag is part of it)
    # and after Pause/Resume's message
    app.callback(Output(ids.Admin.PAUSE, "disabled"), Output(ids.Admin.RESUME, "disabled"),
                 Input(ids.Admin.CLOCK, "children"), Input(ids.Admin.PAUSE_MSG, "children"))(on_pause_state)
