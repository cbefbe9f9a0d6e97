"""Issue 20, point 1, on the admin page: a CSV upload carrying poison the command line refuses
(an Adj Close of 5e-324, ``50_0``, a date with words after it) is refused in the page with the
reader's line and column, the Import button stays disabled, and the store's prices are as they
were. Headless Chromium against gunicorn, on SQLite and Postgres."""
from __future__ import annotations

import pytest

from dashboard import ids
from store.db import make_engine
from store.prices import load_prices

pytestmark = pytest.mark.e2e

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
GOOD = "2013-03-04,30.1,30.5,29.9,30.2,30.2,1000\n"
POISON = [
    ("adj close 5e-324", GOOD + "2013-03-05,30.2,30.9,30.0,30.8,5e-324,1200\n",
     "line 3, column Open: price must be positive, got 0.0 (Open x Adj Close/Close)"),
    ("underscore digits", GOOD + "2013-03-05,30.2,30.9,30.0,30_8,30.8,1200\n", "line 3, column Close: '30_8' is not a number"),
    ("date with words", GOOD + "2013-03-05 is a tuesday,30.2,30.9,30.0,30.8,30.8,1200\n",
     "line 3, column Date: '2013-03-05 is a tuesday' is not a YYYY-MM-DD date"),
]


def _prices(url: str) -> str:
    engine = make_engine(url)
    try:
        return load_prices(engine, "AAPL").to_csv()
    finally:
        engine.dispose()


@pytest.mark.parametrize("text, says", [p[1:] for p in POISON], ids=[p[0] for p in POISON])
def test_a_poisoned_upload_is_refused_in_the_page(admin_page, store_url, tmp_path, text, says):
    before = _prices(store_url)
    bad = tmp_path / "poison.csv"
    bad.write_text(HEADER + text)
    admin_page.set_input_files(f"#{ids.Admin.UPLOAD} input[type=file]", str(bad))
    admin_page.wait_for_selector(f"#{ids.Admin.UPLOAD_REFUSED}", timeout=20000)
    assert says in admin_page.inner_text(f"#{ids.Admin.UPLOAD_REFUSED}")
    assert admin_page.is_disabled(f"#{ids.Admin.IMPORT}")
    assert _prices(store_url) == before
