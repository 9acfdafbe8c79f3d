from datetime import date
from pathlib import Path

import pandas as pd

from optionscope import sources
from optionscope.sources.cboe import CHAIN_FRAME_COLUMNS, read_quotedata


def test_read_quotedata_returns_a_chain_frame_and_snapshot_metadata(test_data: Path) -> None:
    quotedata = sources.cboe.read_quotedata(test_data / "cboe" / "spx_quotedata-8.csv")
    assert read_quotedata is sources.cboe.read_quotedata
    chain = quotedata.chain
    assert tuple(chain.columns) == CHAIN_FRAME_COLUMNS
    assert len(chain) == 52
    first = chain.iloc[0]
    assert (first["contract_symbol"], first["expiry"], first["strike"]) == (
        "SPX270115C05700000",
        date(2027, 1, 15),
        5700.0,
    )
    assert first["settlement_time"] == pd.Timestamp("2027-01-15 14:30Z")  # 09:30 EST
    snapshot = quotedata.snapshot
    assert snapshot.underlying == "SPX"
    assert snapshot.header_spot == 6711.2002
    assert (snapshot.header_bid, snapshot.header_ask) == (6661.1099, 6743.9702)
    assert snapshot.snapshot_time == pd.Timestamp("2025-10-01 22:05Z")
    assert snapshot.session_date == date(2025, 10, 1)
    assert snapshot.parity_spot is None
    assert snapshot.spot_check == "unchecked"
    assert snapshot.quality_flags == ("parity_spot_unavailable",)
    assert snapshot.contract_count == 52
    assert quotedata.parsed.rows_read == 26


def test_sources_cboe_is_reachable_from_the_package_alone() -> None:
    import subprocess
    import sys

    code = "from optionscope import sources; print(sources.cboe.read_quotedata.__name__)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "read_quotedata"
