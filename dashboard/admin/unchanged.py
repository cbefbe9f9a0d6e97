"""Polled outputs sent to the browser only when they changed.

The admin page polls every second (``layout.POLL_MS``) so that a run's progress moves as it happens.
Each answer used to redraw every table and list of the page, changed or not: an admin tab left open
kept the browser drawing (``python -m scripts.bench_admin_poll``, headless Chromium: 13.2 CPU-seconds
per 30 s on an idle admin page before, 7.3 after, 0.6 on the Forecast page). The page now keeps a short digest of what each polled output last
showed (a ``dcc.Store`` per callback); a poll sends only the outputs whose digest moved, and an
unchanged poll is answered 204 with no body (``sent``). The digests come back from the browser, so they are
checked like any input: anything but the expected list of short hex strings means "send everything".
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

import plotly.utils
from dash import no_update
from dash.exceptions import PreventUpdate

_DIGEST = re.compile(r"[0-9a-f]{16}")
_NO_UPDATE = type(no_update)


def digest(value: Any) -> str:
    """16 hex digits standing for ``value`` (a Dash component tree or plain data) as Dash would send it."""
    text = json.dumps(value, cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _shown(digests: Any, n: int) -> list[str | None]:
    """The page's digests of ``n`` outputs; none known for a new page or a value that is not ours."""
    if (isinstance(digests, list) and len(digests) == n
            and all(d is None or (isinstance(d, str) and _DIGEST.fullmatch(d)) for d in digests)):
        return list(digests)
    return [None] * n


def only_changed(values: Sequence[Any], digests: Any) -> tuple[Any, ...]:
    """``values`` with ``no_update`` for each one the page already shows, then the digests to keep
    (``no_update`` when they did not move). An output that is already ``no_update`` keeps its digest."""
    old = _shown(digests, len(values))
    new = [old[i] if isinstance(v, _NO_UPDATE) else digest(v) for i, v in enumerate(values)]
    sent = [no_update if new[i] is not None and new[i] == old[i] else v for i, v in enumerate(values)]
    return (*sent, no_update if new == old else new)


def sent(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """``values``, or a 204 (PreventUpdate) when every one is ``no_update``: Dash itself would answer 200
    with an empty response."""
    if all(isinstance(v, _NO_UPDATE) for v in values):
        raise PreventUpdate
    return values
