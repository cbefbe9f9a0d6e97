"""Shared core: configuration, the price and model store, price sources, calendar.

Everything here is safe to import from the web process: no TensorFlow, no
scheduler, and nothing happens at import time.
"""
