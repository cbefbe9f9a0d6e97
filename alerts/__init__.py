"""Alerts: conditions an operator must hear about, opened once as incidents in the store and sent
to a JSON webhook (Slack, Mattermost and Teams incoming webhooks read its ``text``).

Shared core: it uses the store, the settings and the trading calendar; the web (the clock-silent
watch) and the jobs (the clock's checks, a run's end, ``python -m jobs alerts check``) use it.
"""
