"""Settings come from the environment with embedded defaults."""
import pytest

from marketdata.config import ConfigError, load_settings, normalize_database_url


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
        ({"EVAL_REFIT_EVERY": "0"}, "EVAL_REFIT_EVERY=0 must be a positive number"),
        ({"EVAL_REFIT_EPOCHS": "-1"}, "EVAL_REFIT_EPOCHS=-1 must be between 0 and 50"),
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
