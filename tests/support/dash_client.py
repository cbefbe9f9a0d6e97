"""The Dash test-client helpers live in scripts/dash_client.py (the benchmarks use them too, and
scripts never import tests); this name stays for the tests that import it."""
from scripts.dash_client import ADMIN_ALERTS_OUT, ADMIN_POLL_OUT, ADMIN_QUEUE_OUT, FORECAST_OUT, PAGE_OUT, basic, call, callback_body, duplicate_output, ids_in, page_inputs, render_page

__all__ = ["ADMIN_ALERTS_OUT", "ADMIN_POLL_OUT", "ADMIN_QUEUE_OUT", "FORECAST_OUT", "PAGE_OUT", "basic", "call", "callback_body", "duplicate_output", "ids_in", "page_inputs", "render_page"]
