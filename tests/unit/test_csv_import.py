"""CSV validation: every bad file gives one line naming the line and column."""
from datetime import date

import pytest

from marketdata.frames import PriceDataError
from marketdata.sources.csv_file import read_price_csv

GOOD = (
    "Date,Open,High,Low,Close,Adj Close,Volume\n"
    "2024-01-02,100,110,90,105,52.5,1000\n"
    "2024-01-03,105,112,101,110,55,2000\n"
)
HEADER = "Date,Open,High,Low,Close,Volume\n"


def write(tmp_path, text, name="prices.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_good_file_is_adjusted_by_adj_close(tmp_path):
    frame = read_price_csv(write(tmp_path, GOOD), today=TODAY)
    # Adj Close / Close = 0.5 on both days: every price is halved, volume kept.
    assert frame["close"].tolist() == [52.5, 55.0]
    assert frame["open"].tolist() == [50.0, 52.5]
    assert frame["volume"].tolist() == [1000, 2000]


def test_file_without_adj_close_is_taken_as_is(tmp_path):
    frame = read_price_csv(write(tmp_path, HEADER + "2024-01-02,1,2,0.5,1.5,10\n"), today=TODAY)
    assert frame.loc["2024-01-02", "close"] == 1.5


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a CSV"),
        ("Day,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n", "line 1: wrong header"),
        (HEADER, "no data rows"),
        (HEADER + "02/01/2024,1,2,0.5,1.5,10\n", "line 2, column Date: '02/01/2024' is not a YYYY-MM-DD"),
        (HEADER + "2024-01-02,1,2,0.5,1.5,10\n2024-01-02,1,2,0.5,1.5,10\n", "line 3, column Date: duplicate date"),
        (HEADER + "2024-01-02,1,2,0.5,,10\n", "line 2, column Close: missing value"),
        (HEADER + "2024-01-02,1,2,0.5,null,10\n", "line 2, column Close: missing value"),
        (HEADER + "2024-01-02,abc,2,0.5,1.5,10\n", "line 2, column Open: 'abc' is not a number"),
        (HEADER + "2024-01-02,0,2,0.5,1.5,10\n", "line 2, column Open: price must be positive"),
        (HEADER + "2024-01-02,1,2,-0.5,1.5,10\n", "line 2, column Low: price must be positive"),
        (HEADER + "2024-01-02,1,0.4,0.5,1.5,10\n", "line 2, column High: high 0.4 is below low 0.5"),
        (HEADER + "2024-01-02,1,2,0.5,1.5,-10\n", "line 2, column Volume: negative volume"),
        (HEADER + "2024-01-02,1,2,0.5,1.5\n", "line 2: 5 fields, expected 6"),
    ],
)
def test_bad_files_name_what_and_where(tmp_path, text, message):
    with pytest.raises(PriceDataError) as err:
        read_price_csv(write(tmp_path, text), today=TODAY)
    assert message in str(err.value)
    assert "prices.csv" in str(err.value)
    assert "\n" not in str(err.value)  # one line


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(PriceDataError, match="cannot read file"):
        read_price_csv(tmp_path / "nope.csv", today=TODAY)


# --- what once poisoned the store (issue 9): each refused with file, line and column ---

TODAY = date(2024, 3, 1)  # a Friday: the next trading day is Monday 2024-03-04
ROW = "{day},{open},{high},{low},{close},{volume}\n"


def row(day="2024-02-29", open="1", high="2", low="0.5", close="1.5", volume="10"):
    return ROW.format(day=day, open=open, high=high, low=low, close=close, volume=volume)


@pytest.mark.parametrize(
    "line, message",
    [
        (row(day="1969-12-31"), "column Date: 1969-12-31 is outside 1970-01-01 to 2024-03-04"),
        (row(day="0001-01-03"), "column Date: 0001-01-03 is outside"),
        (row(day="1850-01-02"), "column Date: 1850-01-02 is outside"),
        (row(day="2300-01-02"), "column Date: 2300-01-02 is outside"),
        (row(day="2024-03-05"), "column Date: 2024-03-05 is outside 1970-01-01 to 2024-03-04"),
        (row(day="2024-01-06"), "column Date: 2024-01-06 is a Saturday"),
        (row(day="2024-01-07"), "column Date: 2024-01-07 is a Sunday"),
        (row(day="2023-12-25"), "column Date: 2023-12-25 is an NYSE holiday"),
        (row(day="2023-07-04"), "column Date: 2023-07-04 is an NYSE holiday"),
        (row(day="1985-12-25"), "column Date: 1985-12-25 is an NYSE holiday"),
        (row(close="1e308"), "column Close: price 1e308 is absurd (over 1e+07)"),
        (row(high="10000001"), "column High: price 10000001 is absurd"),
        (row(open="inf"), "column Open: 'inf' is not a finite number"),
        (row(low="-inf"), "column Low: '-inf' is not a finite number"),
        (row(close="nan"), "column Close: missing value"),
        (row(close="2.5"), "column Close: close 2.5 is outside low..high (0.5..2.0)"),
        (row(open="0.4"), "column Open: open 0.4 is outside low..high"),
        (row(volume="10.5"), "column Volume: volume 10.5 is not a whole number"),
        (row(volume="1e308"), "column Volume: volume 1e308 is absurd"),
        (row(volume="inf"), "column Volume: 'inf' is not a finite number"),
        (row(volume="-1"), "column Volume: negative volume -1"),
    ],
)
def test_poisonous_rows_are_refused(tmp_path, line, message):
    # A good first row, the bad one second: the error names line 3.
    path = write(tmp_path, HEADER + row(day="2024-02-28") + line)
    with pytest.raises(PriceDataError) as err:
        read_price_csv(path, ticker="AAPL", today=TODAY)
    assert str(err.value).startswith("prices.csv, line 3, ") and message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "text, message",
    [
        (b"\xef\xbb\xbf", "file is empty"),  # a lone UTF-8 BOM once gave a traceback
        (b"\xef\xbb\xbf\n\n  \n", "file is empty"),
        (b"\xef\xbb\xbf" + HEADER.encode(), "no data rows"),
        (HEADER + "\n\n", "no data rows"),
    ],
)
def test_files_without_data_rows_are_refused(tmp_path, text, message):
    with pytest.raises(PriceDataError, match=message):
        read_price_csv(write(tmp_path, text), ticker="AAPL", today=TODAY)


@pytest.mark.parametrize(
    "line, ticker, column, expected",
    [
        (row(day="2024-03-04"), "AAPL", "close", 1.5),  # the next trading day itself is allowed
        (row(day="2023-12-25"), "0700.HK", "close", 1.5),  # not on the NYSE calendar: no NYSE holidays
        (row(day="2023-12-25"), None, "close", 1.5),  # no ticker given: weekends only
        (row(close="2.004"), "AAPL", "close", 2.004),  # rounding: within half a cent of High
        (row(volume="1e3"), "AAPL", "volume", 1000),  # a whole number written as a float
        (row(day="1970-01-02"), "AAPL", "close", 1.5),
    ],
)
def test_edge_rows_that_are_fine(tmp_path, line, ticker, column, expected):
    frame = read_price_csv(write(tmp_path, HEADER + line), ticker=ticker, today=TODAY)
    assert frame[column].iloc[0] == expected


@pytest.mark.parametrize("column, value", [("close", float("inf")), ("high", 1e308), ("open", 2e7)])
def test_no_source_can_hand_the_store_an_absurd_price(column, value):
    """Yahoo and the offline sample go through validate_price_frame, not the CSV reader."""
    import pandas as pd

    from marketdata.frames import validate_price_frame

    frame = pd.DataFrame({"open": [1.0], "high": [2.0], "low": [0.5], "close": [1.5], "volume": [10]},
                         index=pd.DatetimeIndex(["2024-01-02"], name="date"))
    frame.loc[frame.index[0], column] = value
    with pytest.raises(PriceDataError, match=f"Yahoo AAPL, 2024-01-02, column {column}: "):
        validate_price_frame(frame, "Yahoo AAPL")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_line_numbers_hold_for_every_line_ending(tmp_path, newline):
    """The reader streams the file line by line; its line numbers are the editor's."""
    text = newline.join([HEADER.strip(), "2024-01-02,1,2,0.5,1.5,10", "", "2024-01-02,1,2,0.5,1.5,10", ""])
    with pytest.raises(PriceDataError, match="prices.csv, line 4, column Date: duplicate date 2024-01-02"):
        read_price_csv(write(tmp_path, text), today=TODAY)
