"""The persistence layer: the database, its tables and the repositories over them.

Prices, the model registry and its outputs, runs, leases, the forecast ledger, logins
and the web's read queries. SQLite by default, Postgres through DATABASE_URL. Safe to
import from the web process: no TensorFlow, and nothing happens at import time.
"""
