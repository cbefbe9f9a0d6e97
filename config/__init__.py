"""Configuration, read from the environment in one place, and what entry points build from it.

``settings`` is the only code that reads ``os.environ``; ``celery_app`` builds the Celery app
the run queue's workers execute from and the web and the clock send to; ``price_sources``
turns PRICE_SOURCE into source objects.
"""
