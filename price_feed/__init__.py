"""Keeping the price store fed: which source to ask, what to fetch, and whether the answer appends,
replaces or is refused (``updates``). Above ``store`` (it writes through it) and below both
``jobs`` (the nightly run, the CLI) and ``dashboard`` (the admin's "Fetch prices now"), so the web
process fetches through the same code without importing the jobs package."""
