import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optionscope.sources import FileFormatError
from optionscope.sources.files import read_file

EXCERPT = Path("optionsdx") / "spy_eod_2022-12-30_optionsdx_excerpt.csv"


def test_excerpt_is_read_with_its_header_spot_and_snapshot(test_data: Path) -> None:
    parsed = read_file(test_data / EXCERPT)
    assert parsed.file_format == "optionsdx_eod"
    assert parsed.rows_read == 35
    assert parsed.quarantined == []
    quotes = parsed.tables["option_chain_snapshots"]
    assert len(quotes) == 70
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    assert snapshot["underlying"] == "SPY"
    assert snapshot["snapshot_time"] == pd.Timestamp("2022-12-30 21:00Z")
    assert snapshot["session_date"] == date(2022, 12, 30)
    assert snapshot["header_spot"] == 382.44
    # 0DTE parity at the 16:00 close: e.g. 382 strike 0.465 - 0.135 + 382 = 382.33.
    assert snapshot["parity_spot"] == pytest.approx(382.33, abs=0.05)
    assert snapshot["spot_check"] == "ok"
    assert json.loads(snapshot["quality_flags"]) == []


def test_optionsdx_null_rules(test_data: Path) -> None:
    quotes = (
        read_file(test_data / EXCERPT).tables["option_chain_snapshots"].set_index("contract_symbol")
    )
    atm = quotes.loc["SPY221230C00382000"]
    # OptionsDX writes IV -0.00008 when its solver fails: NULL, with the greeks; row kept.
    assert np.isnan(atm["vendor_iv"])
    assert np.isnan(atm["vendor_delta"])
    assert (atm["bid"], atm["ask"], atm["volume"]) == (0.44, 0.49, 128185)
    assert np.isnan(atm["open_interest"])  # the format has no open interest
    assert atm["underlying_price"] == 382.44
    put = quotes.loc["SPY221230P00382000"]
    assert (put["vendor_iv"], put["vendor_delta"]) == (0.04608, -0.27613)
    deep = quotes.loc["SPY221230P00150000"]
    assert np.isnan(deep["bid"])
    assert deep["ask"] == 0.01


def test_ticker_comes_from_the_argument_or_the_name(test_data: Path, tmp_path: Path) -> None:
    anonymous = tmp_path / "eod_2022-12-30.csv"
    anonymous.write_bytes((test_data / EXCERPT).read_bytes())
    with pytest.raises(FileFormatError, match="ticker"):
        read_file(anonymous, file_format="optionsdx_eod")
    parsed = read_file(anonymous, file_format="optionsdx_eod", ticker="spy")
    assert set(parsed.tables["option_contracts"]["underlying"]) == {"SPY"}
