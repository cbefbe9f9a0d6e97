"""The price commands as a user runs them: real processes, real SQLite and Postgres."""
import json

import pytest


@pytest.fixture
def seeded(run_cli, database_url):
    """A store seeded from the offline sample through ``python -m jobs init``."""
    result = run_cli("init", database_url=database_url)
    assert result.returncode == 0, result.stderr
    return database_url


def test_init_gives_adjusted_aapl_without_split_crashes(run_cli, seeded):
    out = run_cli("export", "prices", database_url=seeded)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Date,Open,High,Low,Close,Volume"
    assert len(lines) - 1 >= 3000
    closes = {line.split(",")[0]: float(line.split(",")[4]) for line in lines[1:]}
    dates = sorted(closes)
    assert dates == [line.split(",")[0] for line in lines[1:]]  # oldest first
    for day in ["2000-06-21", "2005-02-28"]:
        prev = dates[dates.index(day) - 1]
        assert closes[day] / closes[prev] - 1 > -0.40


def test_init_twice_is_harmless(run_cli, seeded):
    again = run_cli("init", database_url=seeded)
    assert again.returncode == 0 and "already seeded" in again.stdout


def test_status_json_names_source_and_range(run_cli, seeded):
    out = run_cli("status", "--json", database_url=seeded)
    [aapl] = json.loads(out.stdout)
    assert aapl["ticker"] == "AAPL" and aapl["sources"] == ["offline-sample"] and aapl["source"] == "offline-sample"
    assert (aapl["first_date"], aapl["last_date"], aapl["rows"]) == ("2000-03-01", "2013-03-01", 3270)


def test_status_names_the_source_a_ticker_keeps_not_every_imported_file(run_cli, seeded, tmp_path):
    """Days imported by CSV on top of the sample: status names the sample (the ticker's source) and counts the
    other sources, where it listed every file name (issue 21: about 250 after a year of daily imports)."""
    for day, close in (("2013-03-04", 60.5), ("2013-03-05", 61.0)):
        path = tmp_path / f"{day}.csv"
        path.write_text(f"Date,Open,High,Low,Close,Volume\n{day},60,62,59,{close},100\n")
        assert run_cli("import-csv", str(path), "--no-serve", database_url=seeded).returncode == 0
    out = run_cli("status", database_url=seeded)
    assert out.returncode == 0 and "offline-sample (+2 other sources)" in out.stdout and ".csv" not in out.stdout
    [aapl] = json.loads(run_cli("status", "--json", database_url=seeded).stdout)
    assert aapl["source"] == "offline-sample" and len(aapl["sources"]) == 3


def test_malformed_csv_changes_nothing(run_cli, seeded, tmp_path):
    before = run_cli("export", "prices", database_url=seeded).stdout
    bad = tmp_path / "bad.csv"
    # A good first row and a bad second: all or nothing means not even the first lands.
    bad.write_text("Date,Open,High,Low,Close,Volume\n2013-03-04,60,61,59,60.5,100\n2013-03-05,60,58,59,60,100\n")
    result = run_cli("import-csv", str(bad), database_url=seeded)
    assert result.returncode != 0
    assert result.stderr.strip() == "error: bad.csv, line 3, column High: high 58.0 is below low 59.0"
    assert "Traceback" not in result.stderr
    assert run_cli("export", "prices", database_url=seeded).stdout == before


def test_good_csv_is_imported_for_a_ticker(run_cli, database_url, tmp_path):
    good = tmp_path / "msft.csv"
    good.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,11,9,10,5,100\n2024-01-03,10,11,9,10,5,200\n")
    result = run_cli("import-csv", str(good), "--ticker", "msft", database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert "MSFT: imported 2 rows" in result.stdout
    out = run_cli("export", "prices", "--ticker", "MSFT", database_url=database_url).stdout
    assert out.splitlines()[1] == "2024-01-02,5.000000,5.500000,4.500000,5.000000,100"


def test_export_of_empty_store_is_a_clear_error(run_cli, database_url):
    result = run_cli("export", "prices", database_url=database_url)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no prices stored for AAPL; run: python -m jobs init"


def test_update_when_yahoo_is_unreachable_fails_cleanly(run_cli, seeded):
    before = run_cli("export", "prices", database_url=seeded).stdout
    # PRICE_SOURCE=yahoo: no offline fallback. Yahoo cannot be reached from this machine.
    result = run_cli("update", database_url=seeded, env={"PRICE_SOURCE": "yahoo", "YAHOO_RETRIES": "1"})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: Yahoo unreachable for AAPL")
    assert run_cli("export", "prices", database_url=seeded).stdout == before
