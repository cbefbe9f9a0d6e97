"""CSV validation: every bad file gives one line naming the line and column."""
import pytest

from marketdata.prices import PriceDataError
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
    frame = read_price_csv(write(tmp_path, GOOD))
    # Adj Close / Close = 0.5 on both days: every price is halved, volume kept.
    assert frame["close"].tolist() == [52.5, 55.0]
    assert frame["open"].tolist() == [50.0, 52.5]
    assert frame["volume"].tolist() == [1000, 2000]


def test_file_without_adj_close_is_taken_as_is(tmp_path):
    frame = read_price_csv(write(tmp_path, HEADER + "2024-01-02,1,2,0.5,1.5,10\n"))
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
        read_price_csv(write(tmp_path, text))
    assert message in str(err.value)
    assert "prices.csv" in str(err.value)
    assert "\n" not in str(err.value)  # one line


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(PriceDataError, match="cannot read file"):
        read_price_csv(tmp_path / "nope.csv")
