"""What an open page costs while nobody touches it: the browser's and the web's CPU seconds.

For each checkout (this tree, and ``--baseline`` for a side-by-side run) the script starts that
checkout's gunicorn (two workers, as ``scripts.web_server`` runs the Procfile's web) on one fixture
store, opens the admin page and, as the reference, the analyst Forecast page in headless Chromium,
waits for each to load, then measures the CPU seconds Chromium (all its processes) and gunicorn
(all its workers) spend during ``--seconds`` of the page sitting open. The admin page polls every
second; the Forecast page does not poll, so its figure is what an idle page costs.

    python -m scripts.bench_admin_poll --baseline /tmp/baseline-main      # 30 s per page and checkout
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from scripts.fixture_store import write_fixture_models
from scripts.process_tree import process_tree, tree_cpu_seconds
from scripts.web_server import CHROMIUM_ARGS, ROOT, WebServer
from store.db import make_engine

CHROMIUM = "/usr/bin/chromium"
ADMIN = ("boss", "bench-pw")


def chromium_roots() -> list[int]:
    """The browsers this process started (through Playwright's driver): each Chromium process whose parent is
    not one. Their trees hold every renderer, zygote and utility process once."""
    roots = []
    for proc in process_tree()[1:]:
        try:
            if "chrom" in proc.name() and "chrom" not in proc.parent().name():
                roots.append(proc.pid)
        except (psutil.Error, AttributeError):  # ended while we looked, or no parent left
            continue
    return roots


def cpu_reader(web: WebServer) -> Callable[[], tuple[float, float]]:
    """A reader of (Chromium CPU-s, gunicorn CPU-s) spent so far by the browsers running now and by ``web``."""
    roots, server = chromium_roots(), web.proc
    assert server is not None, "the web server is not running"
    return lambda: (sum(tree_cpu_seconds(pid) for pid in roots), tree_cpu_seconds(server.pid))


def idle_cost(browser, web: WebServer, path: str, seconds: float) -> tuple[float, float]:
    """(Chromium CPU-s, gunicorn CPU-s) while ``path`` sits open for ``seconds`` after it loaded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
    page = context.new_page()
    page.goto(web.url + path)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(2000)  # the first polls and the graphs' drawing are part of the load
    now = cpu_reader(web)
    before = now()
    time.sleep(seconds)
    after = now()
    context.close()
    return after[0] - before[0], after[1] - before[1]


def measure(code_dir: Path, store_url: str, work: Path, seconds: float) -> dict[str, tuple[float, float]]:
    from playwright.sync_api import sync_playwright

    env = {"DATABASE_URL": store_url, "CACHE_DIR": str(work / f"cache-{code_dir.name}"), "ADMIN_USER": ADMIN[0],
           "ADMIN_PASSWORD": ADMIN[1], "ANALYST_USER": "", "ANALYST_PASSWORD": "", "REDIS_URL": "",
           "DATA_DIR": str(work / "data")}
    with WebServer(env, workers=2, cwd=code_dir, log_path=work / f"web-{code_dir.name}.log") as web, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=CHROMIUM_ARGS)
        try:
            return {path: idle_cost(browser, web, path, seconds) for path in ("/admin", "/")}
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to measure beside this one")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each page sits open (default 30)")
    args = parser.parse_args()
    if args.seconds <= 0 or args.seconds > 600:
        raise SystemExit(f"error: --seconds {args.seconds:g} must be above 0 and at most 600")
    if args.baseline is not None and not (args.baseline / "dashboard" / "app.py").is_file():
        raise SystemExit(f"error: --baseline {args.baseline} is not a checkout of this project (no dashboard/app.py)")
    work = Path(tempfile.mkdtemp(prefix="bench-admin-poll-"))
    store = work / "store.db"
    engine = make_engine(f"sqlite:///{store}")
    write_fixture_models(engine)
    engine.dispose()
    checkouts = [("this tree", ROOT)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    print(f"CPU seconds spent while a page sits open {args.seconds:.0f} s (after it loaded), headless Chromium")
    print(f"{'checkout':<10} {'page':<7} {'chromium':>9} {'gunicorn':>9}")
    for name, code_dir in checkouts:
        for path, (browser_s, web_s) in measure(code_dir, f"sqlite:///{store}", work, args.seconds).items():
            print(f"{name:<10} {path:<7} {browser_s:>9.2f} {web_s:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
