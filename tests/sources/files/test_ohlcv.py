from datetime import date

import pandas as pd
import pytest

from optionscope.sources import FileFormatError
from optionscope.sources.files import read_file

# Layouts of ../shared/data/daily_ohlcv, lumibot, intraday_1min, deribit; values invented.


@pytest.mark.parametrize(
    ("name", "lines", "layout", "is_adjusted"),
    [
        (
            "alphavantage_SPY_daily.csv",
            [
                "date,1. open,2. high,3. low,4. close,5. volume",
                "2024-11-07,593.08,596.65,592.9999,595.61,47233212.0",
                "2024-11-08,596.17,599.64,596.165,598.19,46444893.0",
            ],
            "alphavantage",
            False,
        ),
        (
            "yf_adjusted_SPY_daily.csv",
            [
                "Date,Close,High,Low,Open,Volume",
                "2024-11-07,595.61,596.65,592.99,593.08,47233212",
                "2024-11-08,598.19,599.64,596.16,596.17,46444893",
            ],
            "yfinance_auto_adjusted",
            True,
        ),
        (
            "SPY_history.csv",
            [
                "date,open,high,low,close,volume",
                "2024-11-07 00:00:00-05:00,593.08,596.65,592.99,595.61,47233212",
                "2024-11-08 00:00:00-05:00,596.17,599.64,596.16,598.19,46444893",
            ],
            "yfinance_history",
            True,
        ),
        (
            "SPY_daily_2024.csv",
            [
                "Date,Open,High,Low,Close,Adj Close,Volume,Dividends,Stock Splits",
                "2024-11-07,593.08,596.65,592.99,595.61,590.1,47233212,0.0,0",
                "2024-11-08,596.17,599.64,596.16,598.19,592.6,46444893,0.0,0",
            ],
            "yfinance_adj_close",
            False,
        ),
    ],
)
def test_daily_layouts_decide_is_adjusted(
    write_file, name: str, lines: list[str], layout: str, is_adjusted: bool
) -> None:
    parsed = read_file(write_file(name, *lines))
    assert parsed.file_format == "ohlcv_daily"
    bars = parsed.tables["ohlcv_daily"]
    assert bars["ticker"].tolist() == ["SPY", "SPY"]
    assert bars["session_date"].tolist() == [date(2024, 11, 7), date(2024, 11, 8)]
    assert bars["close"].tolist() == [595.61, 598.19]
    assert bars["is_adjusted"].tolist() == [is_adjusted] * 2
    assert set(bars["source"]) == {f"ohlcv_daily:{layout}"}


def test_crypto_daily_keeps_the_instrument_and_every_day(write_file) -> None:
    path = write_file(
        "deribit_perp.csv",
        "unix,date,symbol,open,high,low,close,volume,base_volume",
        "1769760000000,2026-01-31 08:00:00,BTC-PERPETUAL,82627.5,84539.5,81774.0,"
        "83413.0,8734.5,726209650.0",
        "1769673600000,2026-01-30 08:00:00,BTC-PERPETUAL,88244.5,88386.0,80890.5,"
        "82627.5,20072.3,1685291740.0",
    )
    bars = read_file(path).tables["ohlcv_daily"]
    assert bars["ticker"].tolist() == ["BTC-PERPETUAL"] * 2
    assert bars["session_date"].tolist() == [date(2026, 1, 31), date(2026, 1, 30)]  # Saturday
    assert not bars["is_adjusted"].any()
    spot = read_file(
        write_file(
            "9dsh_BTCUSD_daily.csv",
            "date,open,high,low,close,volume",
            "2024-05-27,68512.18,70597.883,68232.5,69394.555,25870990717",
        )
    )
    assert spot.tables["ohlcv_daily"]["ticker"].tolist() == ["BTC"]


def test_ticker_argument_overrides_and_unknown_layout_is_refused(write_file) -> None:
    lines = ["date,open,high,low,close,volume", "2024-11-08,596.17,599.64,596.16,598.19,46444893"]
    with pytest.raises(FileFormatError, match="adjusted") as caught:
        read_file(write_file("SPY_prices.csv", *lines))
    assert caught.value.field_name == "is_adjusted"
    alpha = ["date,1. open,2. high,3. low,4. close,5. volume", "2024-11-08,1,2,0.5,1.5,10"]
    parsed = read_file(write_file("alphavantage_SPY.csv", *alpha), ticker="qqq")
    assert parsed.tables["ohlcv_daily"]["ticker"].tolist() == ["QQQ"]
    with pytest.raises(FileFormatError, match="ticker"):
        read_file(write_file("alphavantage_daily.csv", *alpha))


def test_daily_bar_on_a_holiday_is_quarantined(write_file) -> None:
    path = write_file(
        "alphavantage_SPY.csv",
        "date,1. open,2. high,3. low,4. close,5. volume",
        "2025-08-29,1,2,0.5,1.5,10",
        "2025-09-01,1,2,0.5,1.5,10",
    )
    parsed = read_file(path)
    assert [(q.line_number, q.field, q.reason) for q in parsed.quarantined] == [
        (3, "date", "not an XNYS session: 2025-09-01")
    ]
    assert len(parsed.tables["ohlcv_daily"]) == 1


def test_one_minute_bars_in_naive_eastern_time_across_a_half_day(write_file) -> None:
    path = write_file(
        "SPY_1min.csv",
        "date,Open,High,Low,Close,Volume",
        "2025-07-03 04:00:00,617.68,617.68,617.03,617.1,6873.0",
        "2025-07-03 09:30:00,620.0,620.5,619.9,620.2,100000.0",
        "2025-07-03 12:59:00,625.67,625.75,625.34,625.35,907852.0",
        "2025-07-03 13:00:00,625.35,625.4,625.3,625.3,5000.0",
    )
    parsed = read_file(path)
    assert parsed.file_format == "ohlcv_1min"
    bars = parsed.tables["ohlcv_intraday"]
    assert bars["ts_start"].tolist() == [
        pd.Timestamp(t)
        for t in (
            "2025-07-03 08:00Z",
            "2025-07-03 13:30Z",
            "2025-07-03 16:59Z",
            "2025-07-03 17:00Z",
        )
    ]
    assert bars["is_regular_session"].tolist() == [False, True, True, False]
    assert set(bars["session_date"]) == {date(2025, 7, 3)}


def test_tz_aware_bars_and_winter_time(write_file) -> None:
    path = write_file(
        "AAPL_1min.csv",
        "datetime,open,high,low,close,volume",
        "2021-12-15 09:30:00-05:00,148.5,149.0,148.5,149.0,2104655",
        "2021-12-15 09:31:00-05:00,149.0,149.05,148.5,148.75,580084",
    )
    bars = read_file(path).tables["ohlcv_intraday"]
    assert bars["ts_start"].tolist() == [
        pd.Timestamp("2021-12-15 14:30Z"),
        pd.Timestamp("2021-12-15 14:31Z"),
    ]
    assert bars["ticker"].tolist() == ["AAPL", "AAPL"]
    assert bars["is_regular_session"].all()


def test_end_labelled_bars_are_moved_back_and_holiday_bars_quarantined(write_file) -> None:
    path = write_file(
        "XYZ_1Min.csv",
        "time,open,high,low,close,volume",
        "2020-01-17 09:31:00,3300.0,3301.0,3299.0,3300.5,100",
        "2020-01-17 16:00:00,3310.0,3311.0,3309.0,3310.5,100",
        "2020-01-20 09:31:00,3312.0,3313.0,3311.0,3312.5,100",
        "2020-01-20 09:32:00,3312.5,3313.0,3311.0,3312.0,100",
    )
    parsed = read_file(path)
    bars = parsed.tables["ohlcv_intraday"]
    assert bars["ts_start"].tolist() == [
        pd.Timestamp("2020-01-17 14:30Z"),
        pd.Timestamp("2020-01-17 20:59Z"),
    ]
    assert bars["is_regular_session"].tolist() == [True, True]
    assert [(q.line_number, q.field) for q in parsed.quarantined] == [(4, "time"), (5, "time")]
    assert parsed.quarantined[0].reason == "not an XNYS session: 2020-01-20"
    assert any("end minute" in note for note in parsed.notes)


def test_bars_that_are_not_one_minute_apart_are_refused(write_file) -> None:
    path = write_file(
        "BTC_4h.csv",
        "date,open,high,low,close,volume",
        "2024-05-27 00:00:00+00:00,68476.7,69247.7,68476.7,68820.9,1369062400",
        "2024-05-27 04:00:00+00:00,68839.0,68859.1,68324.3,68611.0,1442985984",
    )
    with pytest.raises(FileFormatError, match="14400"):
        read_file(path)
    with pytest.raises(FileFormatError, match="14400"):
        read_file(path, file_format="ohlcv_1min")


def test_bars_with_empty_ticker_or_outside_the_calendar_are_quarantined(write_file) -> None:
    path = write_file(
        "bars.csv",
        "time,symbol,open,high,low,close,volume",
        "2020-01-02 09:31:00,SPY,1,2,0.5,1.5,10",
        "2020-01-02 09:32:00,,1,2,0.5,1.5,10",
        "1985-01-02 09:33:00,SPY,1,2,0.5,1.5,10",
    )
    parsed = read_file(path)
    assert [(q.line_number, q.field, q.reason[:25]) for q in parsed.quarantined] == [
        (3, "symbol", "missing ticker"),
        (4, "time", "outside the XNYS calendar"),
    ]
    assert len(parsed.tables["ohlcv_intraday"]) == 1
