from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optionscope.domain.symbols import (
    DeribitInstrument,
    OsiSymbol,
    SymbolError,
    format_deribit_instrument,
    format_osi,
    format_osi_padded,
    is_deribit_instrument,
    is_osi,
    normalize_osi,
    parse_deribit_instrument,
    parse_deribit_series,
    parse_osi,
    parse_osi_series,
)

roots = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6)
expiries = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
rights = st.sampled_from(["C", "P"])
thousandths = st.integers(min_value=1, max_value=99_999_999)


def test_format_osi_writes_the_canonical_unpadded_form() -> None:
    assert format_osi("SPXW", date(2023, 9, 14), "C", 4500) == "SPXW230914C04500000"
    assert format_osi("aapl", date(2025, 2, 21), "p", 2.5) == "AAPL250221P00002500"


def test_parse_osi_accepts_padded_unpadded_and_polygon_spellings() -> None:
    expected = OsiSymbol("AAPL", date(2025, 2, 21), "C", 250.0)
    assert parse_osi("AAPL  250221C00250000") == expected
    assert parse_osi("AAPL250221C00250000") == expected
    assert parse_osi("O:AAPL250221C00250000") == expected
    assert normalize_osi("O:SPY251219P00650000") == "SPY251219P00650000"
    assert format_osi_padded("AAPL", date(2025, 2, 21), "C", 250) == "AAPL  250221C00250000"


@pytest.mark.parametrize(
    "text",
    [
        "SPY",
        "SPY250230C00500000",
        "SPY250221X00500000",
        "SPY250221C0050000",
        "TOOLONGX250221C00500000",
        "SPY250221C00000000",
        "",
    ],
)
def test_parse_osi_refuses_what_is_not_osi(text: str) -> None:
    with pytest.raises(SymbolError):
        parse_osi(text)
    assert not is_osi(text)


@pytest.mark.parametrize(
    ("strike", "message"), [(0.0, "fit"), (100_000.0, "fit"), (1.0005, "multiple")]
)
def test_format_osi_refuses_strikes_osi_cannot_hold(strike: float, message: str) -> None:
    with pytest.raises(SymbolError, match=message):
        format_osi("SPY", date(2025, 1, 17), "C", strike)


@given(roots, expiries, rights, thousandths)
def test_osi_round_trip(root: str, expiry: date, right: str, strike_thousandths: int) -> None:
    strike = strike_thousandths / 1000
    text = format_osi(root, expiry, right, strike)
    parsed = parse_osi(text)
    assert parsed == OsiSymbol(root, expiry, right, strike)
    assert parse_osi(format_osi_padded(root, expiry, right, strike)) == parsed
    assert parsed.canonical == text


def test_parse_osi_series_is_vectorised_and_marks_invalid_rows() -> None:
    frame = parse_osi_series(pd.Series(["SPXW230914C04500000", "junk", "AAPL  250221P00002500"]))
    assert frame["is_valid"].tolist() == [True, False, True]
    assert frame["contract_symbol"].tolist() == ["SPXW230914C04500000", None, "AAPL250221P00002500"]
    assert frame["expiry"].tolist() == [date(2023, 9, 14), None, date(2025, 2, 21)]
    assert frame["strike"].iloc[2] == 2.5
    assert frame["option_right"].tolist() == ["C", None, "P"]


def test_deribit_names_parse_and_format() -> None:
    assert parse_deribit_instrument("BTC-27MAY25-98000-P") == DeribitInstrument(
        "BTC", "BTC", date(2025, 5, 27), 98000.0, "P"
    )
    assert parse_deribit_instrument("BTC-6DEC25-80000-C").expiry == date(2025, 12, 6)
    linear = parse_deribit_instrument("XRP_USDC-30MAY25-2d2-C")
    assert (linear.currency, linear.settlement_currency, linear.strike) == ("XRP", "USDC", 2.2)
    assert format_deribit_instrument("BTC", date(2025, 12, 6), 80000, "C") == "BTC-6DEC25-80000-C"
    assert (
        format_deribit_instrument("XRP", date(2025, 5, 30), 2.2, "C", settlement_currency="USDC")
        == "XRP_USDC-30MAY25-2d2-C"
    )
    assert not is_deribit_instrument("BTC-PERPETUAL")
    assert not is_deribit_instrument("BTC-31FEB25-1000-C")


@given(st.sampled_from(["BTC", "ETH", "SOL"]), expiries, st.integers(1, 500_000), rights)
def test_deribit_round_trip(currency: str, expiry: date, strike: int, right: str) -> None:
    name = format_deribit_instrument(currency, expiry, strike, right)
    assert parse_deribit_instrument(name).name == name


def test_parse_deribit_series_marks_invalid_rows() -> None:
    frame = parse_deribit_series(pd.Series(["ETH-26JAN24-1200-P", "ETH-PERPETUAL"]))
    assert frame["is_valid"].tolist() == [True, False]
    assert frame["expiry"].tolist() == [date(2024, 1, 26), None]
    assert frame["strike"].iloc[0] == 1200.0
    assert frame["settlement_currency"].iloc[0] == "ETH"


def test_parse_deribit_series_keeps_the_lowercase_decimal_mark() -> None:
    frame = parse_deribit_series(pd.Series(["xrp_usdc-30may25-2d2-c"]))
    assert frame["contract_symbol"].tolist() == ["XRP_USDC-30MAY25-2d2-C"]
    assert frame["strike"].tolist() == [2.2]
