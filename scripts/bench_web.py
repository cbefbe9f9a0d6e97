"""Benchmark the web process: gunicorn (2 workers) on a fixture or trained store.

Prints, side by side with the bare ``/healthz`` route as the baseline:
- time from process start to /healthz answering and to the first page served,
- resident memory of each worker after every page was served (and whether any
  TensorFlow library is mapped into it),
- p50/p95 latency of page loads (the page-router callback that builds each page's
  layout and figures, plus the app shell GET) and of the forecast cell-switch
  callback, at N concurrent clients on localhost, in bounded loops.

    python -m scripts.bench_web                       # builds a fixture store in a temp dir
    python -m scripts.bench_web --database-url sqlite:///data/forecast.db --clients 20 --rounds 10
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from scripts.web_server import WebServer
from dashboard import ids

PAGES = ["/", "/residuals", "/compare", "/admin"]
FORECAST_OUT = f"..{ids.Forecast.GRAPH}.figure...{ids.Forecast.ZOOM}.figure...{ids.Forecast.CARDS}.children...{ids.Forecast.RMSE_WORDS}.children.."
ADMIN = ("bench", "bench-password")


def _auth() -> dict:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()}


def _router_body(path: str) -> bytes:
    return json.dumps({
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                   {"id": "_pages_location", "property": "search", "value": ""}],
        "changedPropIds": ["_pages_location.pathname"],
    }).encode()


def _forecast_body(cell: str) -> bytes:
    outs = [dict(zip(("id", "property"), p.rsplit(".", 1))) for p in FORECAST_OUT.strip(".").split("...")]
    return json.dumps({"output": FORECAST_OUT, "outputs": outs,
                       "inputs": [{"id": ids.Forecast.CELL, "property": "value", "value": cell}],
                       "state": [{"id": ids.Forecast.TICKER, "property": "data", "value": None}],
                       "changedPropIds": [f"{ids.Forecast.CELL}.value"]}).encode()


def _request(base: str, method: str, path: str, body: bytes | None = None) -> float:
    """Seconds for one request (a new connection each time, like a browser's first hit)."""
    req = urllib.request.Request(base + path, data=body, method=method,
                                 headers={"Content-Type": "application/json", **_auth()})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()
        if r.status != 200:
            raise RuntimeError(f"{method} {path}: {r.status}")
    return time.perf_counter() - t


def _load(base: str, make_request, clients: int, rounds: int) -> list[float]:
    """``clients`` threads each run ``rounds`` iterations of ``make_request(i)``; all latencies."""
    def client(c: int) -> list[float]:
        return [make_request(c * rounds + i) for i in range(rounds)]

    with ThreadPoolExecutor(clients) as pool:
        return [t for ts in pool.map(client, range(clients)) for t in ts]


def _stats(ts: list[float]) -> dict:
    qs = statistics.quantiles(ts, n=100) if len(ts) > 1 else [ts[0]] * 99
    return {"n": len(ts), "p50": qs[49] * 1000, "p95": qs[94] * 1000, "max": max(ts) * 1000}


def _cells(base: str) -> list[str]:
    from contract.vocab import CELLS
    return list(CELLS)


def main() -> None:
    ap = argparse.ArgumentParser(description="benchmark the dashboard under gunicorn")
    ap.add_argument("--database-url", help="store to serve (default: a fresh fixture store in a temp dir)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=10, help="requests per client per scenario")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    url = args.database_url
    if not url:
        from store.db import make_engine
        from scripts.fixture_store import write_fixture_models

        url = f"sqlite:///{tmp / 'store.db'}"
        engine = make_engine(url)
        write_fixture_models(engine)
        engine.dispose()
    env = {"DATABASE_URL": url, "CACHE_DIR": str(tmp / "cache"), "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1],
           "ANALYST_USER": "", "ANALYST_PASSWORD": "", "REDIS_URL": ""}
    server = WebServer(env, workers=args.workers, log_path=tmp / "gunicorn.log")
    server.start()
    try:
        healthz_ready = server.ready_after_s
        t = time.perf_counter()
        _request(server.url, "GET", "/")
        _request(server.url, "POST", "/_dash-update-component", _router_body("/"))
        first_page = time.perf_counter() - server.started_at
        first_page_cold = time.perf_counter() - t

        # Serve every page and callback enough times that both workers have seen each.
        for _ in range(4 * args.workers):
            for p in PAGES:
                _request(server.url, "GET", p)
                _request(server.url, "POST", "/_dash-update-component", _router_body(p))
            for c in _cells(server.url):
                _request(server.url, "POST", "/_dash-update-component", _forecast_body(c))
        workers = [psutil.Process(pid) for pid in server.worker_pids()]
        rss = [(w.pid, w.memory_info().rss / 2**20) for w in workers]
        tf_mapped = [w.pid for w in workers if any("tensorflow" in m.path for m in w.memory_maps())]

        cells = _cells(server.url)
        def page(p):
            return lambda i: _request(server.url, "POST", "/_dash-update-component", _router_body(p))

        scenarios = {
            "baseline GET /healthz": lambda i: _request(server.url, "GET", "/healthz"),
            "GET / (app shell HTML)": lambda i: _request(server.url, "GET", "/"),
            **{f"page load {p} (layout+figures)": page(p) for p in PAGES},
            "forecast cell-switch callback": lambda i: _request(
                server.url, "POST", "/_dash-update-component", _forecast_body(cells[i % len(cells)])),
        }
        results = {}
        for clients in (1, args.clients):
            for name, fn in scenarios.items():
                if clients == 1 and not (name.startswith("baseline") or name.startswith("forecast") or "/ (" in name):
                    continue
                t = time.perf_counter()
                ts = _load(server.url, fn, clients, args.rounds if clients > 1 else 4 * args.rounds)
                results[(clients, name)] = _stats(ts) | {"rps": len(ts) / (time.perf_counter() - t)}
    finally:
        server.stop()

    print(f"store: {url}")
    print(f"gunicorn -w {args.workers}; {args.clients} concurrent clients x {args.rounds} requests per scenario; "
          f"{psutil.cpu_count()} CPUs")
    print(f"process start -> /healthz answers: {healthz_ready:.2f} s")
    print(f"process start -> first page served (shell + page callback): {first_page:.2f} s "
          f"(the page itself took {first_page_cold * 1000:.0f} ms cold)")
    for pid, mb in rss:
        print(f"worker {pid}: RSS {mb:.0f} MB after every page was served")
    print(f"workers with TensorFlow mapped: {tf_mapped or 'none'}")
    print(f"\n{'clients':>7}  {'scenario':<42}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'req/s':>9}")
    for (clients, name), r in results.items():
        print(f"{clients:>7}  {name:<42}{r['n']:>6}{r['p50']:>10.1f}{r['p95']:>10.1f}{r['max']:>10.1f}{r['rps']:>9.0f}")


if __name__ == "__main__":
    main()
