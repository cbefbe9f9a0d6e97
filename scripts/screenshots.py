"""Screenshots of the running dashboard for the README, at desktop (1400 px) and phone (390 px) width.

Starts real gunicorn on a fixture store (stand-in models, see ``scripts.fixture_store``)
and drives Debian Chromium through Playwright:

    python -m scripts.screenshots            # writes docs/screenshot-*.png
    python -m scripts.screenshots --out /tmp/shots
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from store.db import make_engine
from scripts.bench_ledger import fill_ledger
from scripts.fixture_store import write_fixture_models
from scripts.web_server import CHROMIUM_ARGS, ROOT, WebServer
from dashboard import ids

CHROMIUM = "/usr/bin/chromium"
ADMIN = ("admin", "screenshot-only-password")
# (file stem, path, selector that says the page is drawn, viewport width, viewport height, full page)
SHOTS = [
    ("forecast", "/", f"#{ids.Forecast.GRAPH} .main-svg", 1400, 900, False),
    ("residuals", "/residuals", f"#{ids.Residuals.TIME} .main-svg", 1400, 900, False),
    ("compare", "/compare", f"#{ids.Compare.LOSS} .main-svg", 1400, 900, True),
    ("track-record", "/track-record", f"#{ids.Track.FAN} .main-svg", 1400, 900, True),
    ("admin", "/admin", f"#{ids.Admin.RUNS} > *", 1400, 900, True),
    ("phone-forecast", "/", f"#{ids.Forecast.GRAPH} .main-svg", 390, 844, False),
    ("phone-residuals", "/residuals", f"#{ids.Residuals.TIME} .main-svg", 390, 844, True),
    ("phone-compare", "/compare", f"#{ids.Compare.LOSS} .main-svg", 390, 844, True),
    ("phone-track-record", "/track-record", f"#{ids.Track.FAN} .main-svg", 390, 844, True),
    ("phone-admin", "/admin", f"#{ids.Admin.RUNS} > *", 390, 844, False),
]


def take(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=CHROMIUM_ARGS)
        for stem, path, ready, width, height, full in SHOTS:
            ctx = browser.new_context(viewport={"width": width, "height": height},
                                      http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
            page = ctx.new_page()
            page.goto(url + path)
            page.wait_for_selector(ready, timeout=30000)
            # A chart a callback draws says "Loading the chart..." until it arrives: never photograph that.
            page.wait_for_function("!document.body.innerText.includes('Loading the chart')", timeout=60000)
            page.wait_for_timeout(800)  # let the charts finish their transitions
            target = out / f"screenshot-{stem}.png"
            page.screenshot(path=str(target), full_page=full)
            written.append(target)
            ctx.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/store.db"
        engine = make_engine(url)
        write_fixture_models(engine)
        fill_ledger(engine, tickers=("AAPL",), days=250)  # a year of stand-in forecasts for the Track record
        engine.dispose()
        env = {"DATABASE_URL": url, "CACHE_DIR": f"{tmp}/cache", "DATA_DIR": f"{tmp}/data", "PRICE_SOURCE": "offline",
               "ADMIN_USER": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "REDIS_URL": "", "TICKERS": "AAPL"}
        with WebServer(env, workers=1, log_path=Path(tmp) / "gunicorn.log") as server:
            for path in take(server.url, args.out):
                print(path)


if __name__ == "__main__":
    main()
