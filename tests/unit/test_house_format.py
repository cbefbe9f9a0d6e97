"""The house number format (dashboard.fmt): every card, table, hover, CSV and the track record's verdict."""
import math

import numpy as np
import pytest

from dashboard import fmt as n


@pytest.mark.parametrize("absent", [None, math.nan, np.nan, "12.3", True])
def test_an_absent_number_is_a_dash_never_a_guess(absent):
    assert n.price(absent) == n.signed_price(absent) == n.ratio(absent) == n.pct(absent) == "-"
    assert n.round_price(absent) is None


def test_prices_to_the_cent_rates_as_percentages_ratios_to_four_decimals():
    assert n.price(1234.5) == "$1,234.50" and n.price(np.float32(0.125)) == "$0.12"
    assert n.signed_price(-1.049) == "-$1.05" and n.signed_price(0.0) == "+$0.00"
    assert n.ratio(1.001) == "1.0010" and n.ratio(1) == "1.0000"
    assert n.pct(0.8333) == "83.3%" and n.pct(np.float64(0.5), decimals=0) == "50%"
    assert n.rate_vs(0.8333, 0.8, "target") == "83.3% (target 80%)"
    assert n.rate_vs(0.512, 0.5234, "base rate") == "51.2% (base rate 52.3%)"
    assert n.round_price(np.float64(56.1449)) == 56.14
