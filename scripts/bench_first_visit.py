"""Time to the first chart on the Forecast page, first visit, cold cache, over an emulated network.

    python -m scripts.bench_first_visit                  # fixture store, gunicorn -w 2, 3 runs per cell
    python -m scripts.bench_first_visit --runs 5 --database-url sqlite:///data/forecast.db

Debian's Chromium (Playwright, ``executable_path=/usr/bin/chromium``) opens ``/`` in a fresh
browser context (empty cache) with Chrome DevTools' ``Network.emulateNetworkConditions``
at 10 Mbit/s with 40 ms round trips and at 1.6 Mbit/s with 150 ms. An init script
records ``performance.now()`` (milliseconds since navigation start) when the first
trace of ``#forecast-graph`` is drawn. Three variants run side by side in the same run,
against the same server:

- *as served*: brotli/gzip responses and the plotly-basic bundle (this project now);
- *compression off*: the browser asks for ``Accept-Encoding: identity``, so nothing is
  compressed (the same bytes the app sent before Flask-Compress);
- *compression off, full plotly.js*: also the plotly-basic asset blocked, so dcc.Graph
  loads Dash's full 4.8 MB bundle: the app as it was before this change.

Transferred bytes are the sum of DevTools' ``encodedDataLength`` over the page's requests.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
PROFILES = [("10 Mbit/s, 40 ms", 10e6, 40, 3.0), ("1.6 Mbit/s, 150 ms", 1.6e6, 150, 12.0)]
VARIANTS = [("as served (br/gzip, plotly-basic)", True, False),
            ("compression off", False, False),
            ("compression off, full plotly.js (before)", False, True)]
FIRST_CHART = """
(() => {
  const seen = () => document.querySelector('#forecast-graph .main-svg .trace');
  new MutationObserver((_, obs) => {
    if (window.__firstChartMs === undefined && seen()) { window.__firstChartMs = performance.now(); obs.disconnect(); }
  }).observe(document, {childList: true, subtree: true});
})();
"""


@dataclass
class Visit:
    first_chart_s: float
    transferred: int
    requests: int
    encodings: set[str]


def visit(browser, url: str, bits_per_s: float, rtt_ms: float, compressed: bool, full_plotly: bool) -> Visit:
    """One first visit in a fresh context (cold cache) under the given network."""
    context = browser.new_context()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": rtt_ms,
                                                  "downloadThroughput": bits_per_s / 8,
                                                  "uploadThroughput": bits_per_s / 8})
    if not compressed:
        cdp.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": "identity"}})
    sizes: dict[str, int] = {}
    encodings: set[str] = set()
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    cdp.on("Network.responseReceived", lambda e: encodings.add(
        {k.lower(): v for k, v in e["response"]["headers"].items()}.get("content-encoding", "none")))
    if full_plotly:
        page.route("**/assets/plotly-basic-*", lambda route: route.abort())
    page.add_init_script(FIRST_CHART)
    page.goto(url + "/", wait_until="commit", timeout=120_000)
    page.wait_for_function("window.__firstChartMs !== undefined", timeout=180_000, polling=50)
    ms = page.evaluate("window.__firstChartMs")
    page.wait_for_load_state("networkidle", timeout=120_000)
    context.close()
    return Visit(ms / 1000, sum(sizes.values()), len(sizes), encodings)


def _store(tmp: Path) -> str:
    from store.db import make_engine
    from scripts.fixture_store import write_fixture_models

    url = f"sqlite:///{tmp / 'store.db'}"
    engine = make_engine(url)
    write_fixture_models(engine)
    engine.dispose()
    return url


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", help="store to serve (default: the fixture store in a temp dir)")
    ap.add_argument("--runs", type=int, default=3, help="first visits per network and variant (median shown)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from scripts.web_server import WebServer

    tmp = Path(tempfile.mkdtemp(prefix="bench-visit-"))
    url = args.database_url or _store(tmp)
    env = {"DATABASE_URL": url, "CACHE_DIR": str(tmp / "cache"), "DATA_DIR": str(tmp / "data"), "REDIS_URL": "",
           "ANALYST_USER": "", "ANALYST_PASSWORD": ""}
    rows = []
    with WebServer(env, workers=2, log_path=tmp / "gunicorn.log") as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        visit(browser, server.url, 1e9, 0, True, False)  # warm the workers' read cache, not the browser's
        for profile, bits, rtt, goal in PROFILES:
            for name, compressed, full in VARIANTS:
                visits = [visit(browser, server.url, bits, rtt, compressed, full) for _ in range(args.runs)]
                rows.append((profile, goal, name, visits))
        browser.close()

    print(f"store: {url}; gunicorn -w 2 on loopback; {args.runs} cold first visits per cell, median")
    print(f"{'network':<20} {'variant':<42} {'first chart s':>13} {'goal':>6} {'MB moved':>9} {'requests':>9}  encodings")
    for profile, goal, name, visits in rows:
        s = statistics.median(v.first_chart_s for v in visits)
        mb = statistics.median(v.transferred for v in visits) / 1e6
        req = statistics.median(v.requests for v in visits)
        enc = ",".join(sorted(set().union(*(v.encodings for v in visits))))
        mark = f"< {goal:g}" if name.startswith("as served") else ""
        print(f"{profile:<20} {name:<42} {s:>13.2f} {mark:>6} {mb:>9.2f} {req:>9.0f}  {enc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
