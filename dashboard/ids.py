"""Every Dash component id of the dashboard, in one place.

Pages and callbacks build with these names, the tests find elements by them, and the auth
guard knows an admin callback by :data:`ADMIN` (the ids of the admin page), not by how an
id is spelled. A page's ids start with the page's name, so the browser's DOM stays readable.
"""
from __future__ import annotations


class Nav:
    """The navbar, on every page."""
    BAR = "nav-bar"
    CONFIG = "nav-config"
    CLOSED = "nav-closed"  # the clientside callback that folds the phone menu after a navigation writes here


class NotFound:
    """The page drawn for an address with no page."""
    PAGE = "not-found"
    HOME = "not-found-home"


class Forecast:
    """The forecast page (/)."""

    PAGE = "forecast"  # the prefix of the ids shared by every analyst page (components.ticker_bar)
    CARDS = "forecast-cards"
    CHANGE = "forecast-change"
    CELL = "forecast-cell"
    DATA_CARD = "forecast-data-card"
    DOWNLOAD = "forecast-download"
    DOWNLOAD_BTN = "forecast-download-btn"
    DOWNLOAD_MSG = "forecast-download-msg"
    EMPTY = "forecast-empty"
    FIGURES = "forecast-figures"
    GRAPH = "forecast-graph"
    LAST_CLOSE = "forecast-last-close"
    MODEL_CARD = "forecast-model-card"
    NEXT_CARD = "forecast-next-card"
    RMSE_WORDS = "forecast-rmse-words"
    STALE = "forecast-stale"
    TICKER = "forecast-ticker"
    TRUST = "forecast-trust"
    YSCALE = "forecast-yscale"
    ZOOM = "forecast-zoom"


class Residuals:
    """The residuals page (/residuals)."""

    PAGE = "residuals"  # the prefix of the ids shared by every analyst page (components.ticker_bar)
    ACF = "residuals-acf"
    BIAS = "residuals-bias"
    CELL = "residuals-cell"
    EMPTY = "residuals-empty"
    HIST = "residuals-hist"
    NOTES = "residuals-notes"
    QQ = "residuals-qq"
    TICKER = "residuals-ticker"
    TIME = "residuals-time"


class Compare:
    """The compare page (/compare)."""

    PAGE = "compare"  # the prefix of the ids shared by every analyst page (components.ticker_bar)
    EXPLAIN = "compare-explain"
    BEST = "compare-best"
    DIRECTION = "compare-direction"
    EMPTY = "compare-empty"
    GOALS = "compare-goals"
    HORIZON = "compare-horizon"
    INTERVALS = "compare-intervals"
    LOSS = "compare-loss"
    LOSS_NOTE = "compare-loss-note"
    MEASURE = "compare-measure"
    METHOD = "compare-method"
    OVERLAY = "compare-overlay"
    PAIRS = "compare-pairs"
    TABLE = "compare-table"
    TERCILES = "compare-terciles"
    TESTS = "compare-tests"
    TICKER = "compare-ticker"
    VERDICT = "compare-verdict"


class Track:
    """The track record page (/track-record)."""

    PAGE = "track"  # the prefix of the ids shared by every analyst page (components.ticker_bar)
    CELL = "track-cell"
    COVERAGE = "track-coverage"
    CUMULATIVE = "track-cumulative"
    DOWNLOAD = "track-download"
    DOWNLOAD_BTN = "track-download-btn"
    DOWNLOAD_MSG = "track-download-msg"
    EMPTY = "track-empty"
    FAN = "track-fan"
    FILTER_HORIZON = "track-filter-horizon"
    FILTER_KIND = "track-filter-kind"
    FILTER_SCORED = "track-filter-scored"
    SCORES = "track-scores"
    SUMMARY = "track-summary"
    TABLE = "track-table"
    TABLE_COUNT = "track-table-count"
    THIRDS = "track-thirds"
    TICKER = "track-ticker"
    VERDICT = "track-verdict"


class Admin:
    """The admin page (/admin). Every id here is an admin component: the auth guard refuses a callback touching one without admin credentials."""
    ACTION = "admin-action"
    ALERTS = "admin-alerts"
    AUDIT = "admin-audit"
    AUDIT_TABLE = "admin-audit-table"
    CANCEL = "admin-cancel"
    CANCEL_MSG = "admin-cancel-msg"
    CANCEL_QUEUED = "admin-cancel-queued"
    CANCEL_REFUSED = "admin-cancel-refused"
    CELLS = "admin-cells"
    CHAMPION_MSG = "admin-champion-msg"
    CHAMPION_REFUSED = "admin-champion-refused"
    CHAMPIONS_TABLE = "admin-champions-table"
    CLOCK = "admin-clock"
    CLOCK_LIST = "admin-clock-list"
    CLOCK_HOLDER = "admin-clock-holder"
    DENIED = "admin-denied"
    DISABLED = "admin-disabled"
    EPOCHS = "admin-epochs"
    EPOCHS_HELP = "admin-epochs-help"
    FETCH = "admin-fetch"
    FETCH_MSG = "admin-fetch-msg"
    FETCH_RESULT = "admin-fetch-result"
    FETCH_RUNNING = "admin-fetch-running"
    HEALTH = "admin-health"
    HEALTH_CLOCK = "admin-health-clock"
    HEALTH_POLL = "admin-health-poll"
    HEALTH_QUEUE = "admin-health-queue"
    HEALTH_QUEUE_TABLE = "admin-health-queue-table"
    HEALTH_WORKERS = "admin-health-workers"
    IMPORT = "admin-import"
    IMPORT_MSG = "admin-import-msg"
    IMPORT_REFUSED = "admin-import-refused"
    IMPORTED = "admin-imported"
    MODELS = "admin-models"
    MODELS_TABLE = "admin-models-table"
    PAUSE = "admin-pause"
    PAUSE_MSG = "admin-pause-msg"
    PAUSE_STATE = "admin-pause-state"
    POLL = "admin-poll"
    POLL_SHOWN = "admin-poll-shown"
    LISTS_SHOWN = "admin-lists-shown"
    QUEUE_SHOWN = "admin-queue-shown"
    BUSY_SHOWN = "admin-busy-shown"
    ALERTS_SHOWN = "admin-alerts-shown"
    PRICES = "admin-prices"
    PRICES_TABLE = "admin-prices-table"
    PROGRESS = "admin-progress"
    PROGRESS_TEXT = "admin-progress-text"
    PROMOTE = "admin-promote"
    PROMOTE_ABORT = "admin-promote-abort"
    PROMOTE_COMPARE = "admin-promote-compare"
    PROMOTE_CONFIRM = "admin-promote-confirm"
    PROMOTE_DONE = "admin-promote-done"
    PROMOTE_MODAL = "admin-promote-modal"
    PROMOTE_MODEL = "admin-promote-model"
    PROMOTE_TABLE = "admin-promote-table"
    PROMOTE_WORSE = "admin-promote-worse"
    PROMOTED = "admin-promoted"
    QUEUE = "admin-queue"
    QUEUED = "admin-queued"
    QUEUED_MSG = "admin-queued-msg"
    REFUSED = "admin-refused"
    REPLACE = "admin-replace"
    REPLACE_COUNT = "admin-replace-count"
    RESUME = "admin-resume"
    ROLLBACK = "admin-rollback"
    ROLLBACK_ABORT = "admin-rollback-abort"
    ROLLBACK_ASK = "admin-rollback-ask"
    ROLLBACK_CELL = "admin-rollback-cell"
    ROLLBACK_CONFIRM = "admin-rollback-confirm"
    ROLLBACK_MODAL = "admin-rollback-modal"
    ROLLED_BACK = "admin-rolled-back"
    RUN_OUTCOME = "admin-run-outcome"
    RUN_PICK = "admin-run-pick"
    RUN_RESULT = "admin-run-result"
    RUN_STEPS = "admin-run-steps"
    RUNS = "admin-runs"
    RUNS_TABLE = "admin-runs-table"
    SIGNOUT = "admin-signout"
    START = "admin-start"
    START_BUSY = "admin-start-busy"
    START_MSG = "admin-start-msg"
    STEPS_LIST = "admin-steps-list"
    TICKER = "admin-ticker"
    REQUEST = "admin-run-request"  # the id of the run request this page queued (a dcc.Store)
    UPLOAD = "admin-upload"
    UPLOAD_PREVIEW = "admin-upload-preview"
    UPLOAD_CHANGES = "admin-upload-changes"
    UPLOAD_REFUSED = "admin-upload-refused"
    UPLOAD_ROWS = "admin-upload-rows"
    UPLOAD_SUMMARY = "admin-upload-summary"


def _values(group: type) -> frozenset[str]:
    return frozenset(v for k, v in vars(group).items() if k.isupper() and isinstance(v, str))


ADMIN: frozenset[str] = _values(Admin)


def ticker_store(page: str) -> str:
    """The store holding the ticker an analyst page shows (``page``: a group's PAGE)."""
    return f"{page}-ticker"


def ticker_button(page: str, ticker: str) -> str:
    return f"{page}-ticker-{ticker}"


def refused(page: str) -> str:
    """The notice an analyst page shows for a ticker that is not configured."""
    return f"{page}-refused"


def cell_refused(page: str) -> str:
    """The notice an analyst page shows for a ``?cell=`` it cannot show."""
    return f"{page}-cell-refused"


def cell_url(selector: str) -> str:
    """The store the cell selector's address-bar update writes to (a clientside callback's output)."""
    return f"{selector}-url"


def css(component_id: str) -> str:
    """A CSS selector for the element with this id."""
    return f"#{component_id}"
