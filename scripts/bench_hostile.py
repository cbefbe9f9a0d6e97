"""Memory under hostile input: worker RSS of the real web before and after 5,000 distinct
hostile requests, with the start as the baseline.

Starts ``gunicorn 'dashboard.app:create_server()'`` (2 workers, admin login configured) on a fixture
store, serves every page once (the warm state), then sends N distinct hostile requests to
it over loopback in a bounded loop: 100 kB tickers in analyst callbacks, distinct query
strings, long measures, deep JSON, 1.5 MB bodies, text/plain forms, forged model ids,
wrong passwords, unknown callbacks. Prints each worker's resident memory at the start, after
warm-up and after the hostile requests, the answers by status, and whether a worker was
replaced (a restarted worker would hide growth).

    python -m scripts.bench_hostile                      # 5,000 requests, this tree
    python -m scripts.bench_hostile --code-dir /work/main  # the same against another checkout, for comparison
"""
from __future__ import annotations

import argparse
import base64
import json
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

from scripts.web_server import WebServer
from contract.vocab import CELLS
from dashboard import ids

ADMIN = ("bench", "bench-password")
CALLBACK = "/_dash-update-component"
FORECAST_OUT = f"..{ids.Forecast.GRAPH}.figure...{ids.Forecast.ZOOM}.figure...{ids.Forecast.CARDS}.children...{ids.Forecast.RMSE_WORDS}.children.."
PAGE_OUT = ".._pages_content.children..._pages_store.data.."
KINDS = ("ticker-100kB", "page-query", "measure-50kB", "deep-json", "body-1.5MB", "text-plain-form",
         "promote-bad-id", "wrong-password", "unknown-callback", "cell-dict")


def _auth(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _body(output: str, inputs: list, state: list = ()) -> dict:
    outs = [dict(zip(("id", "property"), p.rsplit(".", 1))) for p in output.strip(".").split("...")]
    return {"output": output, "outputs": outs if output.startswith("..") else outs[0],
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"]}


def hostile(i: int, n: int) -> tuple[str, dict]:
    """The i-th of ``n`` hostile requests: (kind, keyword arguments for requests.post). Every one is
    distinct. Wrong passwords come only in the last tenth: ten of them lock the address out (429),
    and the admin requests before them should reach the validation they probe."""
    kind = KINDS[i % len(KINDS)]
    if kind == "wrong-password" and i < n * 0.9:
        kind = "promote-bad-id"
    tag = f"{i:06d}"
    js = {"Content-Type": "application/json"}
    if kind == "ticker-100kB":
        body = _body(FORECAST_OUT, [(ids.Forecast.CELL, "value", "gru")], [(ids.Forecast.TICKER, "data", tag + "T" * 100_000)])
    elif kind == "page-query":
        body = _body(PAGE_OUT, [("_pages_location", "pathname", "/"),
                                ("_pages_location", "search", f"?ticker={tag}{'Q' * 2000}&k{tag}=v")])
    elif kind == "measure-50kB":
        body = _body(f"{ids.Compare.HORIZON}.figure", [(ids.Compare.MEASURE, "value", tag + "m" * 50_000)],
                     [(ids.Compare.TICKER, "data", "AAPL")])
    elif kind == "deep-json":
        return kind, dict(data=(f'{{"output":"{tag}","x":' + "[" * 50_000 + "]" * 50_000 + "}").encode(), headers=js)
    elif kind == "body-1.5MB":
        return kind, dict(data=b'{"pad":"' + tag.encode() * 250_000 + b'"}', headers=js)
    elif kind == "text-plain-form":
        return kind, dict(data=json.dumps(_body(f"{ids.Admin.CHAMPION_MSG}.children", [(ids.Admin.PROMOTE, "n_clicks", i)])).encode(),
                          headers={"Content-Type": "text/plain", **_auth(*ADMIN)})
    elif kind == "promote-bad-id":
        body = _body(f"{ids.Admin.CHAMPION_MSG}.children", [(ids.Admin.PROMOTE, "n_clicks", 1), (ids.Admin.ROLLBACK, "n_clicks", None)],
                     [(ids.Admin.PROMOTE_MODEL, "value", 10**40 + i), (ids.Admin.ROLLBACK_CELL, "value", None),
                      (ids.Admin.TICKER, "value", tag * 1000)])
        return kind, dict(data=json.dumps(body).encode(), headers={**js, **_auth(*ADMIN)})
    elif kind == "wrong-password":
        return kind, dict(data=b"{}", headers={**js, **_auth(f"user-{tag}", f"pw-{tag}")}, path="/admin")
    elif kind == "unknown-callback":
        body = _body(f"x{tag}{'o' * 5000}.children", [("x", "y", 1)])
    else:  # a cell value that is not even hashable
        body = _body(FORECAST_OUT, [(ids.Forecast.CELL, "value", {tag: "x" * 10_000})], [(ids.Forecast.TICKER, "data", "AAPL")])
    return kind, dict(data=json.dumps(body).encode(), headers=js)


def send(base: str, i: int, n: int) -> tuple[str, str]:
    kind, kw = hostile(i, n)
    path = kw.pop("path", CALLBACK)
    method = requests.get if path == "/admin" else requests.post
    try:
        return kind, str(method(base + path, timeout=60, **kw).status_code)
    except requests.ConnectionError:  # the server refused a too-large body before reading it and closed
        return kind, "closed"


def rss(server: WebServer) -> dict[int, float]:
    return {pid: psutil.Process(pid).memory_info().rss / 2**20 for pid in sorted(server.worker_pids())}


def warm_up(base: str) -> None:
    """Serve every page and analyst callback once, so the baseline holds what normal use caches."""
    hdrs = {"Content-Type": "application/json", **_auth(*ADMIN)}
    for path in ("/", "/residuals", "/compare", "/admin"):
        for _ in range(4):  # several times, so that both workers serve each
            requests.get(base + path, headers=_auth(*ADMIN), timeout=60)
            requests.post(base + CALLBACK, headers=hdrs, timeout=60, data=json.dumps(
                _body(PAGE_OUT, [("_pages_location", "pathname", path), ("_pages_location", "search", "")])))
    for cell in CELLS * 4:
        requests.post(base + CALLBACK, headers=hdrs, timeout=60, data=json.dumps(
            _body(FORECAST_OUT, [(ids.Forecast.CELL, "value", cell)], [(ids.Forecast.TICKER, "data", "AAPL")])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--database-url", help="default: a fixture store in a temp folder")
    parser.add_argument("--code-dir", type=Path, help="serve this checkout instead (for a side-by-side baseline)")
    args = parser.parse_args()
    if not 1 <= args.requests <= 100_000 or not 1 <= args.clients <= 32:
        parser.error("--requests must be 1..100000 and --clients 1..32")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url
        if url is None:
            from store.db import make_engine
            from scripts.fixture_store import write_fixture_models

            url = f"sqlite:///{tmp}/store.db"
            engine = make_engine(url)
            write_fixture_models(engine)
            engine.dispose()
        env = {"DATABASE_URL": url, "CACHE_DIR": f"{tmp}/cache", "DATA_DIR": f"{tmp}/data", "TICKERS": "AAPL",
               "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "ANALYST_USER": "", "ANALYST_PASSWORD": "",
               "REDIS_URL": "", "PRICE_SOURCE": "offline"}
        server = WebServer(env, workers=2, log_path=Path(tmp) / "gunicorn.log", cwd=args.code_dir)
        with server:
            report(server, args.requests, args.clients, args.code_dir)


def report(server: WebServer, n: int, clients: int, code_dir: Path | None) -> None:
    start = rss(server)
    warm_up(server.url)
    warm = rss(server)
    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:  # bounded: exactly n requests, then stop
        answers = Counter(pool.map(lambda i: send(server.url, i, n), range(n)))
    seconds = time.perf_counter() - t
    time.sleep(1)
    after = rss(server)
    print(f"code: {code_dir or 'this tree'}; {n} distinct hostile requests in {seconds:.0f} s from {clients} clients")
    print("MB resident per worker: booted (no request yet), start (after serving every page: the baseline),")
    print("after the hostile requests")
    print(f"{'worker':>8} {'booted':>7} {'start':>7} {'after':>7} {'after-start':>12} {'after-booted':>13}")
    for pid in sorted(set(start) | set(after)):
        b, w, a = start.get(pid), warm.get(pid), after.get(pid)
        cells = [f"{v:.1f}" if v is not None else "-" for v in (b, w, a)]
        d_start = f"{a - w:+.1f}" if a is not None and w is not None else "replaced"
        d_boot = f"{a - b:+.1f}" if a is not None and b is not None else "replaced"
        print(f"{pid:>8} {cells[0]:>7} {cells[1]:>7} {cells[2]:>7} {d_start:>12} {d_boot:>13}")
    print("answers by kind and status:")
    for kind in KINDS:
        print(f"  {kind:<17} " + ", ".join(f"{status}: {c}" for (k, status), c in sorted(answers.items()) if k == kind))
    if set(start) != set(after):
        print("WARNING: a worker was replaced during the run; its growth is hidden")


if __name__ == "__main__":
    main()
