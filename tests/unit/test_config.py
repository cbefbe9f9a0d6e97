"""Settings come from the environment with embedded defaults."""
import pytest

from config.settings import PROCESS_GROUPS, ConfigError, load_settings, normalize_database_url


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),  # Heroku's form
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_forms(given, expected):
    assert normalize_database_url(given) == expected


def test_defaults_are_sqlite_in_data_folder_and_aapl(tmp_path):
    s = load_settings({"DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path}/forecast.db"
    assert s.tickers == ("AAPL",) and s.price_source == "auto"


def test_tickers_list_is_upper_cased():
    assert load_settings({"TICKERS": "aapl, msft"}).tickers == ("AAPL", "MSFT")


@pytest.mark.parametrize(
    "env, message",
    [
        ({"PRICE_SOURCE": "bloomberg"}, "PRICE_SOURCE"),
        ({"TICKERS": " , "}, "TICKERS is empty"),
        ({"YAHOO_RETRIES": "three"}, "YAHOO_RETRIES='three' is not a whole number"),
        ({"EVAL_REFIT_EVERY": "0"}, "EVAL_REFIT_EVERY=0 is out of range: use 1 to 1000"),
        ({"EVAL_REFIT_EPOCHS": "-1"}, "EVAL_REFIT_EPOCHS=-1 is out of range: use 0 to 50"),
    ],
)
def test_bad_settings_are_named(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_rolling_evaluation_settings():
    sched = load_settings({"EVAL_REFIT_EVERY": "5", "EVAL_REFIT_EPOCHS": "0"}).schedule
    assert (sched.eval_refit_every, sched.eval_refit_epochs) == (5, 0)
    default = load_settings({}).schedule
    assert (default.eval_refit_every, default.eval_refit_epochs) == (20, 2)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"TICKERS": "AAPL,AAPL,aapl"}, "TICKERS lists AAPL twice"),  # refused, not de-duplicated
        ({"TICKERS": "AAPL,../../etc"}, "TICKERS: ticker '../../etc' is not a ticker symbol"),
        ({"PIPELINE_EPOCHS": "-5"}, "PIPELINE_EPOCHS=-5 is out of range: use 0 to 500"),
        ({"PIPELINE_FINETUNE_EPOCHS": "1e308"}, "PIPELINE_FINETUNE_EPOCHS='1e308' is not a whole number"),
        ({"YAHOO_RETRIES": "-1"}, "YAHOO_RETRIES=-1 is out of range: use 1 to 20"),
        ({"YAHOO_RETRIES": "0"}, "YAHOO_RETRIES=0 is out of range"),
        ({"YAHOO_TIMEOUT": "99999999999999999999999999"}, "YAHOO_TIMEOUT=999"),
        ({"PRICE_OVERLAP_DAYS": "-3"}, "PRICE_OVERLAP_DAYS=-3 is out of range"),
        ({"STORE_RETRY_SECONDS": "-1"}, "STORE_RETRY_SECONDS=-1 is out of range"),
        ({"CELERY_VISIBILITY_TIMEOUT": "5"}, "CELERY_VISIBILITY_TIMEOUT=5 is out of range"),
        ({"WEB_TRUSTED_PROXIES": "-1"}, "WEB_TRUSTED_PROXIES=-1 is out of range"),
        ({"CLOCK_TIME": "25:99"}, "CLOCK_TIME='25:99' must be HH:MM"),
        ({"CLOCK_MISFIRE_GRACE": "0"}, "CLOCK_MISFIRE_GRACE=0 is out of range"),
        ({"RETRAIN_EVERY_N_NIGHTS": "-2"}, "RETRAIN_EVERY_N_NIGHTS=-2 is out of range"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL scheme 'mysql' is not supported"),
        ({"DATABASE_URL": "postgresql://:::x"}, "DATABASE_URL is not a database URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL is not a database URL"),
        ({"DATABASE_URL": "postgres://u:secret@h:5432"}, r"names no database"),
    ],
)
def test_bad_values_are_refused_at_start_with_the_range(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as err:
        load_settings(env)
    assert "secret" not in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "env, fine_for, refused_by",
    [
        # The web never schedules: a bad clock setting must not stop it (nor the worker).
        ({"CLOCK_TIME": "25:99"}, ["web", "worker", "jobs"], ["clock"]),
        ({"CLOCK_DAYS": "someday"}, ["web", "worker", "jobs"], ["clock"]),
        # Training settings: the web boots; everything that trains refuses.
        ({"PIPELINE_EPOCHS": "-1"}, ["web"], ["worker", "jobs", "clock"]),
        ({"YAHOO_RETRIES": "-1"}, ["web"], ["worker", "jobs", "clock"]),
        # Web-only settings do not stop the clock or a command.
        ({"WEB_TRUSTED_PROXIES": "-1"}, ["worker", "jobs", "clock"], ["web"]),
        # Everyone needs the store and the tickers.
        ({"DATABASE_URL": "mysql://u@h/db"}, [], ["web", "worker", "jobs", "clock"]),
        ({"TICKERS": "AAPL,AAPL"}, [], ["web", "worker", "jobs", "clock"]),
    ],
)
def test_each_process_checks_only_the_settings_it_uses(env, fine_for, refused_by):
    for process in fine_for:
        settings = load_settings(env, uses=PROCESS_GROUPS[process])
        assert settings.problems  # the bad value is kept, with its default standing in
    for process in refused_by:
        with pytest.raises(ConfigError):
            load_settings(env, uses=PROCESS_GROUPS[process])


def test_a_kept_problem_is_raised_when_its_group_is_used_later():
    """A web process that starts a retrain refuses it (run_pipeline checks pipeline settings)."""
    settings = load_settings({"PIPELINE_EPOCHS": "-1"}, uses=PROCESS_GROUPS["web"])
    assert settings.schedule.epochs is None  # the default, never the bad value
    with pytest.raises(ConfigError, match="PIPELINE_EPOCHS=-1"):
        settings.check("pipeline")


def test_a_lease_longer_than_half_the_visibility_timeout_is_refused_with_a_queue():
    """A redelivered task waits up to a lease TTL for a dead worker's lease, then runs; both inside the
    visibility timeout, or Redis hands the task out again."""
    env = {"REDIS_URL": "redis://h/0", "CELERY_VISIBILITY_TIMEOUT": "60", "LEASE_TTL_SECONDS": "31"}
    with pytest.raises(ConfigError, match="LEASE_TTL_SECONDS=31 must be at most half of CELERY_VISIBILITY_TIMEOUT=60"):
        load_settings(env, uses=("core", "pipeline"))
    assert load_settings(env, uses=("core", "web")).redis_url == "redis://h/0"  # the web never waits for a lease
    assert load_settings({**env, "REDIS_URL": ""}, uses=("core", "pipeline")).schedule.lease_ttl_s == 31
    assert load_settings({**env, "LEASE_TTL_SECONDS": "30"}, uses=("core", "pipeline")).schedule.lease_ttl_s == 30
