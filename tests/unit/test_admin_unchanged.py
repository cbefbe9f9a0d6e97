"""The admin page's polls send only what changed (dashboard.admin.unchanged): the digests the page
keeps, what a repeated poll sends (nothing: 204), what a change sends, and a forged digest list."""
from __future__ import annotations

import pytest
from dash import html, no_update

from dashboard import ids
from dashboard.admin.unchanged import digest, only_changed
from tests.support.dash_client import ADMIN_POLL_OUT, basic, call
from tests.support.dashboard_env import ADMIN, admin_env


def test_a_first_poll_sends_everything_and_the_digests_to_keep():
    values = (40, "40%", html.Div("run #3"), [{"label": "#1", "value": 1}])
    *sent, kept = only_changed(values, None)
    assert tuple(sent) == values
    assert kept == [digest(v) for v in values] and all(len(d) == 16 for d in kept)


def test_a_repeated_poll_sends_nothing_and_a_change_sends_only_itself():
    first = (40, "40%", html.Div("run #3"))
    *_, kept = only_changed(first, None)
    assert only_changed(first, kept) == (no_update,) * 4  # Dash answers all-no_update with 204
    moved = (41, "41%", html.Div("run #3"))
    *sent, again = only_changed(moved, kept)
    assert sent == [41, "41%", no_update]
    assert again == [digest(41), digest("41%"), kept[2]]
    newer = html.Div("run #4")
    assert only_changed((newer,), [digest(html.Div("run #3"))])[0] is newer


def test_an_output_left_alone_keeps_its_digest():
    *_, kept = only_changed(("a", "b"), None)
    *sent, again = only_changed((no_update, "c"), kept)
    assert sent == [no_update, "c"] and again == [kept[0], digest("c")]


@pytest.mark.parametrize("forged", [
    {"a": 1}, "0123456789abcdef", ["0123456789abcdef"], ["0123456789ABCDEF", None], ["x" * 16, None],
    [1, 2], ["0123456789abcdef"] * 3, [["0123456789abcdef"], None], ["0123456789abcdef0", None],
])
def test_digests_that_are_not_ours_mean_send_everything(forged):
    values = ("a", html.Span("b"))
    *sent, kept = only_changed(values, forged)
    assert tuple(sent) == values and kept == [digest("a"), digest(html.Span("b"))]


def test_the_admin_poll_answers_204_when_the_page_already_shows_everything(dash_client, fixture_store_url):
    """Through Dash itself: the digests a poll returns make the next identical poll an empty 204."""
    client = dash_client(fixture_store_url, **admin_env())
    poll = [(ids.Admin.POLL, "n_intervals", 1)]
    first = call(client, ADMIN_POLL_OUT, poll, [(ids.Admin.TICKER, "value", None), (ids.Admin.POLL_SHOWN, "data", None)],
                 headers=basic(*ADMIN))
    assert first.status_code == 200
    answer = first.json["response"]
    assert set(answer) == {ids.Admin.PROGRESS, ids.Admin.PROGRESS_TEXT, ids.Admin.CANCEL, ids.Admin.RUNS, ids.Admin.CLOCK,
                           ids.Admin.MODELS, ids.Admin.PROMOTE_MODEL, ids.Admin.POLL_SHOWN}
    kept = answer[ids.Admin.POLL_SHOWN]["data"]
    again = call(client, ADMIN_POLL_OUT, [(ids.Admin.POLL, "n_intervals", 2)],
                 [(ids.Admin.TICKER, "value", None), (ids.Admin.POLL_SHOWN, "data", kept)], headers=basic(*ADMIN))
    assert again.status_code == 204 and again.data == b"", again.json
    stale = [None, *kept[1:]]  # the page lost one: that one is sent again, alone
    partial = call(client, ADMIN_POLL_OUT, [(ids.Admin.POLL, "n_intervals", 3)],
                   [(ids.Admin.TICKER, "value", None), (ids.Admin.POLL_SHOWN, "data", stale)], headers=basic(*ADMIN))
    assert partial.status_code == 200
    assert set(partial.json["response"]) == {ids.Admin.PROGRESS, ids.Admin.POLL_SHOWN}
    assert partial.json["response"][ids.Admin.POLL_SHOWN]["data"] == kept
