"""Configuration, read from the environment in one place, and what entry points build from it.

``settings`` is the only code that reads ``os.environ``; ``celery_app`` builds the queue
shared by the web's background callbacks and the training workers; ``price_sources``
turns PRICE_SOURCE into source objects.
"""
