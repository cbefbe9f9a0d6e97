"""Load test of a running dashboard: N concurrent clients for S seconds, localhost only.

Each client loops over a page load (GET) and the forecast callback (the POST a
browser sends when the cell selector changes), built from the app's own
``/_dash-dependencies`` so it follows the real callback signature. Prints error
count and p50/p95/max latency per request kind; the bare ``/healthz`` route is
measured the same way as the baseline.

    python -m scripts.load_test --url http://127.0.0.1:8050 --clients 50 --seconds 60
"""
from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections import defaultdict
from urllib.parse import urlparse

import requests
from dashboard import ids

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def forecast_callback_body(base: str, cell: str = "gru", output_prefix: str = f"{ids.Forecast.GRAPH}.figure") -> dict:
    """The JSON body of the forecast callback, from the app's declared dependencies."""
    deps = requests.get(f"{base}/_dash-dependencies", timeout=10).json()
    dep = next(d for d in deps if output_prefix in d["output"])
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in dep["output"].strip(".").split("...")
    ]
    inputs = [{"id": i["id"], "property": i["property"], "value": cell} for i in dep["inputs"]]
    # States (the page's ticker) are sent as the browser would with their initial value: None = default.
    state = [{"id": s["id"], "property": s["property"], "value": None} for s in dep.get("state", [])]
    return {
        "output": dep["output"],
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
        "state": state,
    }


def page_route_body(path: str = "/") -> dict:
    """The JSON body the browser posts to get a page's layout from Dash Pages' router."""
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                   {"id": "_pages_location", "property": "search", "value": ""}],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run(base: str, clients: int, seconds: float, max_requests: int, kinds: dict[str, tuple[str, str, dict | None]]):
    host = urlparse(base).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"refusing to load {host}: this script only targets localhost")
    lat: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    sent = [0]

    def client(idx: int) -> None:
        session = requests.Session()
        names = list(kinds)
        i = idx
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= max_requests:
                    return
                sent[0] += 1
            name = names[i % len(names)]
            i += 1
            method, path, body = kinds[name]
            t0 = time.perf_counter()
            try:
                r = session.request(method, base + path, json=body, timeout=30)
                ok = r.status_code == 200
            except requests.RequestException:
                ok = False
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                lat[name].append(dt)
                if not ok:
                    errors[name] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    return wall, lat, errors


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8050")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--max-requests", type=int, default=200_000, help="hard bound on requests sent")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    base = args.url.rstrip("/")
    kinds = {
        "healthz (baseline)": ("GET", "/healthz", None),
        "page shell GET /": ("GET", "/", None),
        "page layout (router)": ("POST", "/_dash-update-component", page_route_body("/")),
        "forecast callback": ("POST", "/_dash-update-component", forecast_callback_body(base)),
    }
    wall, lat, errors = run(base, args.clients, args.seconds, args.max_requests, kinds)
    rows = {
        name: {
            "requests": len(lat[name]),
            "errors": errors[name],
            "p50_ms": round(statistics.median(lat[name]), 1) if lat[name] else None,
            "p95_ms": round(percentile(lat[name], 0.95), 1),
            "max_ms": round(max(lat[name]), 1) if lat[name] else None,
        }
        for name in kinds
    }
    total = sum(len(v) for v in lat.values())
    if args.json:
        print(json.dumps({"clients": args.clients, "seconds": round(wall, 1), "requests": total,
                          "errors": sum(errors.values()), "kinds": rows}, indent=2))
        return 0
    print(f"{args.clients} clients for {wall:.1f}s: {total} requests, {total / wall:.0f}/s, "
          f"{sum(errors.values())} errors")
    print(f"{'request':<24}{'count':>8}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name, r in rows.items():
        print(f"{name:<24}{r['requests']:>8}{r['errors']:>8}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['max_ms']:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
