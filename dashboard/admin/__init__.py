"""The admin page's parts: the layout, its callbacks by concern (runs, champions, prices and
schedule, a queued run's outcome), what they do (``actions``, ``promotion``, ``csv_import``) and
what they show (``views``). ``guard`` is the one server-side check every admin callback uses."""
