"""axe-core on every analyst page at desktop and phone width, signed in and out (issue 22, point 3 of
"what must hold"): no critical and no serious violation. Moderate ones are listed in docs/incoming-analyst.md."""
from __future__ import annotations

from pathlib import Path

import pytest

from scripts.web_server import WebServer
from tests.support.browser import open_page, settle, web_env
from dashboard import ids

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[1] / "support" / "axe" / "axe.min.js"
PAGES = {"/": ids.Forecast.GRAPH, "/compare": ids.Compare.TABLE, "/residuals": ids.Residuals.TIME,
         "/track-record": ids.Track.SUMMARY, "/nope": ids.NotFound.HOME}
SIZES = {"desktop": (1400, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def web(two_ticker_store, tmp_path_factory):
    import shutil

    from scripts.bench_ledger import fill_ledger
    from store.db import make_engine

    tmp = tmp_path_factory.mktemp("a11y")
    shutil.copy(two_ticker_store, tmp / "store.db")
    url = f"sqlite:///{tmp / 'store.db'}"
    engine = make_engine(url)
    fill_ledger(engine, ("AAPL",), days=30)
    engine.dispose()
    with WebServer(web_env(url, tmp), workers=1, log_path=tmp / "gunicorn.log") as server:
        yield server


def violations(page) -> list[dict]:
    """axe-core's critical and serious violations on the page as it stands (WCAG 2.1 A and AA rules)."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations
        .map(v => ({id: v.id, impact: v.impact, n: v.nodes.length, where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
    return [v for v in found if v["impact"] in ("critical", "serious")]


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("path", list(PAGES))
def test_no_critical_or_serious_accessibility_violation(web, chromium, path, size, signed_in):
    width, height = SIZES[size]
    page = open_page(chromium, width=width, height=height, admin=signed_in)
    try:
        page.goto(web.url + path)
        page.wait_for_selector(f"#{PAGES[path]}", timeout=30000)
        settle(page)  # the callbacks that fill the charts and tables
        bad = violations(page)
        assert not bad, "; ".join(f"{v['id']} ({v['impact']}, {v['n']} nodes: {', '.join(v['where'])})" for v in bad)
    finally:
        page.context.close()
