import json
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optionscope.sources import FileFormatError
from optionscope.sources.files import read_file
from optionscope.sources.files.cboe_header import parse_header_instant, parse_header_number
from optionscope.sources.files.chains import SPOT_CHECK_TOLERANCE

HEADER = (
    "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,"
    "Strike,Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest"
)
Side = tuple[float, ...]


def cboe_line(
    expiry_text: str,
    root: str,
    yymmdd: str,
    strike: float,
    call: Side,
    put: Side,
    strike_text: str | None = None,
) -> str:
    """One quotedata line; sides are (last, net, bid, ask, volume, iv, delta, gamma, oi)."""
    digits = f"{round(strike * 1000):08d}"
    cells = [
        expiry_text,
        f"{root}{yymmdd}C{digits}",
        *(f"{v:g}" for v in call),
        strike_text or f"{strike:.2f}",
        f"{root}{yymmdd}P{digits}",
        *(f"{v:g}" for v in put),
    ]
    return ",".join(cells)


def spx_lines(strike_text: bool = False) -> list[str]:
    rows = []
    for strike, call_mid, put_mid in ((3850, 12.0, 5.2), (3855, 8.6, 6.8), (3860, 5.9, 9.1)):
        call = (call_mid, 1, call_mid - 0.1, call_mid + 0.1, 50, 0.2, 0.6, 0.01, 100)
        put = (put_mid, -1, put_mid - 0.1, put_mid + 0.1, 60, 0.21, -0.4, 0.01, 200)
        rows.append(
            cboe_line(
                "Tue Jul 12 2022",
                "SPXW",
                "220712",
                strike,
                call,
                put,
                strike_text=str(strike) if strike_text else None,
            )
        )
    return rows


def test_vendored_spy_file_is_read_and_its_stale_header_flagged(test_data: Path) -> None:
    parsed = read_file(test_data / "cboe" / "SPY_quotedata_2025-05-08_1657ET.csv")

    assert parsed.file_format == "cboe_quotedata"
    assert parsed.rows_read == 2359
    assert parsed.quarantined == []
    quotes = parsed.tables["option_chain_snapshots"]
    assert len(quotes) == 2 * 2359
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    assert snapshot["underlying"] == "SPY"
    assert snapshot["snapshot_time"] == pd.Timestamp("2025-05-08 20:57Z")
    assert snapshot["session_date"] == date(2025, 5, 8)
    assert snapshot["header_spot"] == 565.79
    assert (snapshot["header_bid"], snapshot["header_ask"]) == (565.77, 565.82)
    assert snapshot["parity_spot"] == pytest.approx(561.48, abs=0.01)
    assert snapshot["spot_check"] == "disagrees"
    assert json.loads(snapshot["quality_flags"]) == [
        "header_spot_disagrees_with_quotes",
        "expired_contracts_listed",
    ]
    assert snapshot["contract_count"] == 4718


def test_values_and_null_rules_of_a_cboe_line(test_data: Path) -> None:
    parsed = read_file(test_data / "cboe" / "SPY_quotedata_2025-05-08_1657ET.csv")
    quotes = parsed.tables["option_chain_snapshots"].set_index("contract_symbol")

    call = quotes.loc["SPY250509C00565000"]
    assert (call["bid"], call["ask"], call["last"]) == (2.2, 2.23, 2.23)
    assert (call["volume"], call["open_interest"]) == (41875, 9192)
    assert (call["vendor_iv"], call["vendor_delta"], call["vendor_gamma"]) == (
        0.218,
        0.3617,
        0.0411,
    )
    assert call["ts_event"] == pd.Timestamp("2025-05-08 20:57Z")
    # IV 0 with delta 1 and gamma 0: Cboe's fill values -> NULL; bid 0 -> NULL; OI 0 kept.
    deep = quotes.loc["SPY250507C00250000"]
    assert np.isnan(deep["vendor_iv"])
    assert np.isnan(deep["vendor_delta"])
    assert np.isnan(deep["vendor_gamma"])
    assert deep["open_interest"] == 0
    assert np.isnan(quotes.loc["SPY250507P00250000", "bid"])
    # Last Sale 0 -> NULL (never traded); Volume 0 stays 0.
    untraded = quotes.loc["SPY250507C00255000"]
    assert np.isnan(untraded["last"])
    assert untraded["volume"] == 0
    # IV 0 next to a fractional delta and non-zero gamma: Cboe's greeks are kept.
    expired = quotes.loc["SPY250507C00560000"]
    assert np.isnan(expired["vendor_iv"])
    assert (expired["vendor_delta"], expired["vendor_gamma"]) == (0.9564, 0.1092)


def test_labor_day_capture_reflects_the_previous_session(test_data: Path) -> None:
    parsed = read_file(test_data / "cboe" / "SPY_quotedata_2025-09-01_1850ET.csv")
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    assert snapshot["session_date"] == date(2025, 8, 29)
    assert snapshot["spot_check"] == "ok"
    assert snapshot["parity_spot"] / snapshot["header_spot"] == pytest.approx(1.0, abs=0.0005)
    oi = parsed.tables["option_chain_snapshots"].set_index("contract_symbol")["open_interest"]
    assert oi["SPY250902C00645000"] == 13881
    assert oi["SPY250902P00645000"] == 9324


def test_spx_and_spxw_roots_settle_at_their_own_instants(test_data: Path) -> None:
    parsed = read_file(test_data / "cboe" / "spx_quotedata-3.csv")
    contracts = parsed.tables["option_contracts"].set_index("contract_symbol")
    assert set(contracts["underlying"]) == {"SPX"}
    assert set(contracts["root"]) == {"SPX", "SPXW"}
    am = contracts.loc["SPX260618C06700000"]
    # Thursday 2026-06-18: Juneteenth moves the monthly; AM settlement at 09:30 EDT.
    assert (am["settlement_type"], am["settlement_time"]) == (
        "AM",
        pd.Timestamp("2026-06-18 13:30Z"),
    )
    assert am["exercise_style"] == "european"
    assert am["multiplier"] == 100
    pm = contracts[contracts["root"] == "SPXW"].iloc[0]
    assert (pm["expiry"], pm["settlement_type"], pm["settlement_time"]) == (
        date(2026, 6, 30),
        "PM",
        pd.Timestamp("2026-06-30 20:00Z"),
    )
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    # The nearest expiry is 260 days out: parity would measure a forward, not spot.
    assert snapshot["spot_check"] == "unchecked"
    assert np.isnan(snapshot["parity_spot"])
    assert json.loads(snapshot["quality_flags"]) == ["parity_spot_unavailable"]
    assert any("days out" in note for note in parsed.notes)


def test_excel_resaved_variant(write_file) -> None:
    path = write_file(
        "spx_excel.csv",
        "Standard & Poors 500 Index,Last: 3856.28,Change:  1.85" + "," * 19,
        '"Date: July 12, 2022, 11:55 AM EDT",Bid: 3855.3701,Ask: 3857.1599,Size: 1*1,'
        "Volume: 0" + "," * 17,
        HEADER,
        *spx_lines(strike_text=True),
    )
    parsed = read_file(path)
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    assert snapshot["snapshot_time"] == pd.Timestamp("2022-07-12 15:55Z")
    assert snapshot["header_spot"] == 3856.28
    assert snapshot["parity_spot"] == pytest.approx(3856.8)
    assert snapshot["spot_check"] == "ok"
    assert parsed.tables["option_contracts"]["strike"].tolist() == [3850, 3855, 3860] * 2


@pytest.mark.parametrize(
    ("date_line", "instant"),
    [
        (
            '"Date: 23 de marzo de 2022, 10:11 GMT-4",Bid: 3855.37,Ask: 3857.16,Size: 1*1,'
            "Volume: 0",
            "2022-03-23 14:11Z",
        ),
        (
            "Date: 10 novembre 2023 \u00e0 18:55 UTC\u22125,Bid: 3855.37,Ask: 3857.16,"
            "Size: 7*3,Volume: 130\u202f859\u202f611",
            "2023-11-10 23:55Z",
        ),
        (
            '"Date: February 5 2022, 8:26 PM EST",Bid: 0,Ask: 0,Size: 0*0,Volume: 0',
            "2022-02-06 01:26Z",
        ),
    ],
)
def test_header_dates_in_other_locales(write_file, date_line: str, instant: str) -> None:
    path = write_file(
        "locale.csv",
        "",
        "SP 500 INDEX,Last: 3856.28,Change:  1.85",
        date_line,
        HEADER,
        *spx_lines(),
    )
    snapshot = read_file(path).tables["chain_snapshots"].iloc[0]
    assert snapshot["snapshot_time"] == pd.Timestamp(instant)


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("April 30, 2025 at 8:35 PM EDT", "2025-05-01 00:35Z"),
        ("June 11, 2022, 8:47 PM EDT", "2022-06-12 00:47Z"),
        ("September 3, 2025 at 9:24 AM EDT", "2025-09-03 13:24Z"),
        ("January 6, 2025 at 12:05 AM EST", "2025-01-06 05:05Z"),
        ("May 1, 2025 4:49 PM ET", "2025-05-01 20:49Z"),
        ("1 März 2024 um 17:00 GMT+1", "2024-03-01 16:00Z"),
    ],
)
def test_parse_header_instant(text: str, instant: str) -> None:
    assert parse_header_instant(text) == pd.Timestamp(instant)


def test_header_numbers_drop_separators_and_treat_zero_as_absent() -> None:
    assert parse_header_number("Volume: 130\u202f859\u202f611", "Volume") == 130859611
    assert parse_header_number("Volume: 71,039,449", "Volume") == 71039449
    assert parse_header_number("Bid: 0", "Bid") is None


def test_a_date_without_zone_is_refused(write_file) -> None:
    path = write_file(
        "nozone.csv",
        "",
        "SP 500 INDEX,Last: 3856.28",
        '"Date: July 12, 2022, 11:55 AM",Bid: 0,Ask: 0',
        HEADER,
        *spx_lines(),
    )
    with pytest.raises(FileFormatError, match="no time zone") as caught:
        read_file(path)
    assert (caught.value.line_number, caught.value.field_name) == (3, "Date")


def test_snapshot_time_argument_replaces_the_header_instant(test_data: Path) -> None:
    parsed = read_file(
        test_data / "cboe" / "spx_quotedata-8.csv", snapshot_time="2025-10-01T20:15:00+00:00"
    )
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    assert snapshot["snapshot_time"] == pd.Timestamp("2025-10-01 20:15Z")
    assert "snapshot_time_supplied" in json.loads(snapshot["quality_flags"])


def test_spot_check_tolerance_is_two_tenths_of_a_percent(write_file) -> None:
    def snapshot_for(last: float) -> pd.Series:
        path = write_file(
            f"tol_{last}.csv",
            "",
            f"SP 500 INDEX,Last: {last}",
            '"Date: July 12, 2022, 11:55 AM EDT",Bid: 0,Ask: 0',
            HEADER,
            *spx_lines(),
        )
        return read_file(path).tables["chain_snapshots"].iloc[0]

    assert SPOT_CHECK_TOLERANCE == 0.002
    parity = 3856.8
    assert snapshot_for(round(parity / 1.0019, 2))["spot_check"] == "ok"
    assert snapshot_for(round(parity / 1.0021, 2))["spot_check"] == "disagrees"


def test_a_ten_thousand_line_chain_parses_in_well_under_a_second(write_file) -> None:
    lines = []
    for day in range(1, 26):
        expiry = pd.Timestamp(2023, 9, 14) + pd.Timedelta(days=day)
        text, yymmdd = expiry.strftime("%a %b %d %Y"), expiry.strftime("%y%m%d")
        for step in range(400):
            strike = 2500 + 5 * step
            side = (1.5, 0, 1.4, 1.6, 3, 0.2, 0.5, 0.001, 10)
            lines.append(cboe_line(text, "SPXW", yymmdd, strike, side, side))
    path = write_file(
        "big.csv",
        "",
        "SP 500 INDEX,Last: 4500",
        '"Date: September 14, 2023 at 4:31 PM EDT",Bid: 0,Ask: 0',
        HEADER,
        *lines,
    )
    read_file(path)  # warm-up: calendar and imports
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        parsed = read_file(path)
        timings.append(time.perf_counter() - start)
    assert parsed.rows_read == 10_000
    assert len(parsed.tables["option_chain_snapshots"]) == 20_000
    assert min(timings) < 1.0


def test_windows_line_endings_and_a_byte_order_mark(tmp_path: Path) -> None:
    lines = [
        "",
        "SP 500 INDEX,Last: 3856.28",
        '"Date: July 12, 2022, 11:55 AM EDT",Bid: 0,Ask: 0',
        HEADER,
        *spx_lines(),
    ]
    path = tmp_path / "windows.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    parsed = read_file(path)
    assert parsed.rows_read == 3
    assert parsed.quarantined == []
    assert parsed.tables["chain_snapshots"].iloc[0]["header_spot"] == 3856.28
