"""The web process never imports TensorFlow, Keras, APScheduler, models or jobs.

Runs in a fresh interpreter (a subprocess) so other tests' imports do not count:
it serves every page and fires every analyst and admin callback (except the
background retrain, which by design runs in another process), then lists the
forbidden modules that got imported.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.support.services import ROOT

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from dashboard.app import create_server
    server = create_server()
    from tests.support.dash_client import basic, call, render_page
    c = server.test_client()
    h = basic("boss", "pw")
    statuses = [c.get(p, headers=h).status_code for p in ["/", "/residuals", "/compare", "/admin", "/track-record", "/healthz", "/metrics"]]
    statuses += [render_page(c, p, headers=h).status_code for p in ["/", "/residuals", "/compare", "/admin", "/track-record"]]
    statuses.append(call(c, "..track-fan.figure...track-cumulative.figure...track-coverage.figure...track-verdict.children...track-scores.data..",
                         [("track-cell", "value", "lstm")], [("track-ticker", "data", None)]).status_code)
    track_filters = [("track-cell", "value", "gru"), ("track-filter-kind", "value", "all"), ("track-filter-horizon", "value", 0),
                     ("track-filter-scored", "value", "all")]
    statuses.append(call(c, "..track-table.data...track-table.page_count...track-table-count.children...track-table.page_current..",
                         [("track-table", "page_current", 1), *track_filters], [("track-ticker", "data", None)]).status_code)
    statuses.append(call(c, "..track-download.data...track-download-msg.children..", [("track-download-btn", "n_clicks", 1)],
                         [*track_filters, ("track-ticker", "data", None)]).status_code)
    statuses.append(call(c, "..forecast-graph.figure...forecast-zoom.figure...forecast-cards.children...forecast-rmse-words.children..",
                         [("forecast-cell", "value", "lstm")], [("forecast-ticker", "data", None)]).status_code)
    statuses.append(call(c, "..forecast-download.data...forecast-download-msg.children..", [("forecast-download-btn", "n_clicks", 1)], [("forecast-cell", "value", "gru"), ("forecast-ticker", "data", None)]).status_code)
    statuses.append(call(c, "compare-horizon.figure", [("compare-measure", "value", "mae")], [("compare-ticker", "data", None)]).status_code)
    statuses.append(call(c, "..admin-progress.value...admin-progress.label...admin-progress-text.children...admin-cancel.disabled...admin-runs.children...admin-clock.children...admin-models.children...admin-promote-model.options...admin-poll-shown.data..",
                         [("admin-poll", "n_intervals", 1)], [("admin-ticker", "value", None), ("admin-poll-shown", "data", None)], headers=h).status_code)
    statuses.append(call(c, "..admin-run-request.data...admin-start-msg.children..", [("admin-start", "n_clicks", 1)],
                         [("admin-action", "value", "finetune"), ("admin-cells", "value", []), ("admin-epochs", "value", 2), ("admin-ticker", "value", None)], headers=h).status_code)
    statuses.append(call(c, "admin-champion-msg.children", [("admin-promote", "n_clicks", None), ("admin-rollback", "n_clicks", 1)],
                         [("admin-promote-model", "value", None), ("admin-rollback-cell", "value", "gru"), ("admin-ticker", "value", None)], headers=h,
                         changed=["admin-rollback.n_clicks"]).status_code)
    statuses.append(call(c, "admin-health.children", [("admin-health-poll", "n_intervals", 1)], [], headers=h).status_code)
    forbidden = sorted(m for m in sys.modules if m.split(".")[0] in {"tensorflow", "keras", "apscheduler", "models", "jobs"})
    print(json.dumps({"statuses": statuses, "forbidden": forbidden}))
    """
)


def test_serving_every_page_imports_no_tensorflow(fixture_store_url, tmp_path):
    from store.db import make_engine
    from scripts.bench_ledger import fill_ledger

    engine = make_engine(fixture_store_url)
    fill_ledger(engine, ("AAPL",), days=60)  # the Track record page draws a ledger, not its empty notice
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if k not in ("ANALYST_USER", "ANALYST_PASSWORD", "REDIS_URL")}
    env.update(DATABASE_URL=fixture_store_url, CACHE_DIR=str(tmp_path / "cache"), ADMIN_USER="boss", ADMIN_PASSWORD="pw")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(result["statuses"]) == {200}, result
    assert result["forbidden"] == []
