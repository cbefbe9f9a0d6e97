"""What an admin types is refused visibly in the real page, never coerced: epochs 0, 9999,
2.5 and blank, in headless Chromium against gunicorn. No ticket is issued (no run starts).
(Forged model ids and tickers, which the page never offers, are sent over HTTP in
test_hostile_http.py.)"""
from __future__ import annotations

import pytest

from tests.support.store_checks import store_state
from dashboard import ids

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("typed, says", [("0", "epochs must be from 1 to 500, not 0"),
                                         ("9999", "epochs must be from 1 to 500, not 9999"),
                                         ("2.5", "epochs must be a whole number from 1 to 500, not 2.5"),
                                         ("", "epochs is blank")])
def test_bad_epochs_are_refused_on_the_page(admin_page, store_url, typed, says):
    before = store_state(store_url)
    admin_page.fill(f"#{ids.Admin.EPOCHS}", typed)
    admin_page.click(f"#{ids.Admin.START}")
    admin_page.wait_for_selector(f"#{ids.Admin.REFUSED}", timeout=20000)
    assert says in admin_page.inner_text(f"#{ids.Admin.REFUSED}")
    assert store_state(store_url) == before
