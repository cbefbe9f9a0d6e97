"""Drive Dash callbacks through Flask's test client (or build their HTTP bodies), the way the browser's
renderer does. Used by the benchmarks here and by the tests (tests.support.dash_client re-exports it)."""
from __future__ import annotations

import base64
import json

from dashboard import ids


def basic(user: str, password: str) -> dict:
    """An Authorization header for HTTP Basic."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _split(output: str) -> list[tuple[str, str]]:
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    return [tuple(p.rsplit(".", 1)) for p in parts]


def callback_body(output: str, inputs: list[tuple[str, str, object]], state: list[tuple[str, str, object]] = (),
                  changed: list[str] | None = None) -> dict:
    """The JSON the renderer posts for one callback; ``output`` is Dash's output string
    (``a.b`` or ``..a.b...c.d..``)."""
    outs = [{"id": i, "property": p} for i, p in _split(output)]
    return {
        "output": output,
        "outputs": outs if output.startswith("..") else outs[0],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": changed if changed is not None else [f"{i}.{p}" for i, p, _ in inputs[:1]],
    }


def page_inputs(path: str, search: str = "") -> list[tuple[str, str, object]]:
    """The page router's inputs for ``path`` and its query string."""
    return [("_pages_location", "pathname", path), ("_pages_location", "search", search)]


PAGE_OUT = ".._pages_content.children..._pages_store.data.."
FORECAST_OUT = (f"..{ids.Forecast.GRAPH}.figure...{ids.Forecast.ZOOM}.figure...{ids.Forecast.CARDS}.children..."
                f"{ids.Forecast.RMSE_WORDS}.children..")
# The admin page's poll (progress, runs, clock, champions, and the digests of what it sent): the key its
# callback is registered under, which a request must name exactly.
ADMIN_POLL_OUT = (f"..{ids.Admin.PROGRESS}.value...{ids.Admin.PROGRESS}.label...{ids.Admin.PROGRESS_TEXT}.children..."
                  f"{ids.Admin.CANCEL}.disabled...{ids.Admin.RUNS}.children...{ids.Admin.CLOCK}.children..."
                  f"{ids.Admin.MODELS}.children...{ids.Admin.PROMOTE_MODEL}.options...{ids.Admin.POLL_SHOWN}.data..")
ADMIN_QUEUE_OUT = f"..{ids.Admin.QUEUED}.children...{ids.Admin.CANCEL_QUEUED}.disabled...{ids.Admin.QUEUE_SHOWN}.data.."
ADMIN_ALERTS_OUT = f"..{ids.Admin.ALERTS}.children...{ids.Admin.ALERTS_SHOWN}.data.."


def call(client, output: str, inputs: list[tuple[str, str, object]], state: list[tuple[str, str, object]] = (),
         headers: dict | None = None, changed: list[str] | None = None):
    """POST one callback through Flask's test client."""
    body = callback_body(output, inputs, state, changed)
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json",
                       headers=headers or {})


def duplicate_output(client, output: str, trigger: str, headers: dict | None = None) -> str:
    """The output key Dash gave a callback declared with ``allow_duplicate=True`` (``output@hash``),
    found as the renderer finds it: in /_dash-dependencies, by the input that triggers it."""
    for spec in client.get("/_dash-dependencies", headers=headers or {}).json:
        if spec["output"].split("@", 1)[0] == output and any(i["id"] == trigger for i in spec["inputs"]):
            return spec["output"]
    raise LookupError(f"no callback writes {output} on {trigger}")


def render_page(client, path: str, headers: dict | None = None, search: str = ""):
    """Ask the page router for ``path``'s layout; returns the response."""
    return call(client, PAGE_OUT, page_inputs(path, search), headers=headers)


def ids_in(tree) -> set[str]:
    """Every component id in a serialised layout."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and isinstance(props.get("id"), str):
                found.add(props["id"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(tree)
    return found
