"""Dash callbacks over real HTTP (a running gunicorn), the way the browser posts them."""
from __future__ import annotations

import requests

PAGE_OUT = ".._pages_content.children..._pages_store.data.."
FORECAST_OUT = "..forecast-graph.figure...forecast-zoom.figure...forecast-cards.children...forecast-rmse-words.children.."


def post_callback(base: str, output: str, inputs, state=(), headers=None, timeout=30) -> requests.Response:
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    outs = [dict(zip(("id", "property"), p.rsplit(".", 1))) for p in parts]
    body = {
        "output": output,
        "outputs": outs if output.startswith("..") else outs[0],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": [f"{i}.{p}" for i, p, _ in inputs[:1]],
    }
    return requests.post(f"{base}/_dash-update-component", json=body, headers=headers or {}, timeout=timeout)


def page(base: str, path: str, search: str = "", headers=None) -> requests.Response:
    """The page router's answer for ``path``: the page layout, as the browser gets it."""
    return post_callback(base, PAGE_OUT, [("_pages_location", "pathname", path), ("_pages_location", "search", search)],
                         headers=headers)


def forecast(base: str, cell: str = "gru", ticker: str | None = None) -> requests.Response:
    return post_callback(base, FORECAST_OUT, [("forecast-cell", "value", cell)], [("forecast-ticker", "data", ticker)])
