"""What a test's page-side wait costs the browser: Playwright's default polling against a fixed interval.

    python -m scripts.bench_page_waits [--path /] [--seconds 15] [--rounds 2] [--interval-ms 100]

Starts gunicorn (one worker) on the fixture store and Chromium's headless shell (what the browser tests
use, else Debian's chromium), opens ``--path``, waits for it to load, then waits ``--seconds`` on a
condition that never comes true, alternating ``polling="raf"`` (Playwright's default: the condition is
re-checked on every animation frame) with ``polling=--interval-ms`` (the tests' ``wait_js``), and, last, a
plain ``wait_for_timeout`` as the floor. Prints the CPU-seconds the browser and gunicorn spent in each.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from scripts.bench_admin_poll import ADMIN, cpu_reader
from scripts.fixture_store import write_fixture_models
from scripts.web_server import CHROMIUM, CHROMIUM_ARGS, WebServer
from store.db import make_engine


def _measure(page, web: WebServer, how: str, seconds: float, interval_ms: int) -> tuple[float, float]:
    """(browser CPU-s, gunicorn CPU-s) spent while the page waits ``seconds`` the way ``how`` says."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    now = cpu_reader(web)
    before = now()
    if how == "timeout":
        page.wait_for_timeout(seconds * 1000)
    else:
        try:
            page.wait_for_function("window.__never === true", timeout=seconds * 1000,
                                   polling="raf" if how == "raf" else interval_ms)
        except PlaywrightTimeout:
            pass
    after = now()
    return after[0] - before[0], after[1] - before[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/", help="the page to wait on (default /; /admin polls every second)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each wait (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="raf/interval pairs, alternated (default 2)")
    parser.add_argument("--interval-ms", type=int, default=100, help="the fixed polling interval (default 100)")
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 600 or not 1 <= args.rounds <= 20 or not 10 <= args.interval_ms <= 5000:
        parser.error(f"--seconds must be 1-600, --rounds 1-20 and --interval-ms 10-5000, got {args.seconds:g}, "
                     f"{args.rounds} and {args.interval_ms}")
    if not args.path.startswith("/"):
        parser.error(f"--path must start with /, got {args.path!r}")
    with tempfile.TemporaryDirectory(prefix="bench-waits-") as folder:
        _run(args, Path(folder))
    return 0


def _run(args: argparse.Namespace, tmp: Path) -> None:
    """The store, the server, the browser and the waits, in the temporary folder ``tmp``."""
    from playwright.sync_api import sync_playwright

    engine = make_engine(f"sqlite:///{tmp / 'store.db'}")
    write_fixture_models(engine)
    engine.dispose()
    env = {"DATABASE_URL": f"sqlite:///{tmp / 'store.db'}", "CACHE_DIR": str(tmp / "cache"), "ADMIN_USER": ADMIN[0],
           "ADMIN_PASSWORD": ADMIN[1], "ANALYST_USER": "", "ANALYST_PASSWORD": "", "REDIS_URL": "",
           "DATA_DIR": str(tmp / "data")}
    with WebServer(env, workers=1, log_path=tmp / "gunicorn.log") as web, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000},
                                   http_credentials={"username": ADMIN[0], "password": ADMIN[1]}).new_page()
        page.goto(web.url + args.path)
        page.wait_for_load_state("networkidle")
        time.sleep(2)  # the first polls and the graphs' drawing are part of the load
        print(f"{args.path}, {args.seconds:g} s per wait; CPU-seconds spent during the wait:")
        for how in [*(["raf", "interval"] * args.rounds), "timeout"]:
            spent_browser, spent_web = _measure(page, web, how, args.seconds, args.interval_ms)
            label = {"raf": 'polling="raf" (default)', "interval": f"polling={args.interval_ms} ms",
                     "timeout": "wait_for_timeout (floor)"}[how]
            print(f"  {label:28s} browser {spent_browser:5.2f}  gunicorn {spent_web:5.2f}  "
                  f"-> {(spent_browser + spent_web) / args.seconds:.3f} cores")
        browser.close()


if __name__ == "__main__":
    raise SystemExit(main())
