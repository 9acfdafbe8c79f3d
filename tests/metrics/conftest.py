"""Fixtures of the metric tests: generated daily bars and the shared real-data folder.

- `make_bars(count, seed, style)`: valid daily bars (low <= open, close <= high) on XNYS
  sessions; styles: ``walk``, ``flat`` (constant prices, some zero volume), ``steps`` (mostly
  unchanged closes), ``gaps`` (large overnight gaps), ``zero_volume``.
- `shared_data`: ``../shared/data``; the test is skipped when it is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optionscope.domain.calendar import trading_sessions

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
BAR_STYLES = ("walk", "flat", "steps", "gaps", "zero_volume")

MakeBars = Callable[..., pd.DataFrame]


def generate_bars(
    count: int, seed: int, style: str = "walk", start: str = "2020-01-02"
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, 0.015, count)
    if style == "flat":
        returns[:] = 0.0
    elif style == "steps":
        returns *= rng.random(count) < 0.2
    close = np.round(50.0 * np.exp(np.cumsum(returns)), 2)
    gap = rng.normal(0.0, 0.03 if style == "gaps" else 0.004, count)
    open_ = np.round(np.r_[close[0], close[:-1]] * np.exp(gap), 2)
    if style == "flat":
        open_ = close.copy()
    spread = np.abs(rng.normal(0.0, 0.01, count)) * (style != "flat")
    high = np.round(np.maximum(open_, close) * (1 + spread), 2)
    low = np.round(np.minimum(open_, close) * (1 - spread * rng.random(count)), 2)
    volume = np.round(rng.lognormal(13.0, 0.5, count))
    if style in ("zero_volume", "flat"):
        volume[rng.random(count) < 0.5] = 0.0
    sessions = trading_sessions(pd.Timestamp(start).date(), count)
    return pd.DataFrame(
        {
            "session_date": sessions,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
    )


@pytest.fixture(scope="session")
def make_bars() -> MakeBars:
    return generate_bars


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent: real-data tests need the shared data set")
    return SHARED_DATA


def sample_path(prefix: str) -> Path:
    from optionscope.app import sample_files

    return next(path for path in sample_files() if path.name.startswith(prefix))


@pytest.fixture(scope="session")
def spy_bars() -> pd.DataFrame:
    """Bundled SPY daily bars (2021-01-11 .. 2026-01-08) in the engine's bar frame."""
    from optionscope.sources.files import read_file

    bars = read_file(sample_path("yf_adjusted_SPY")).tables["ohlcv_daily"]
    columns = ["session_date", "open", "high", "low", "close", "volume"]
    return bars.sort_values("session_date", ignore_index=True).loc[:, columns]


@pytest.fixture(scope="session")
def spy_chain() -> pd.DataFrame:
    """The bundled 2025-09-25 SPY chain in the engine's chain frame."""
    from optionscope.engine.load import CHAIN_FRAME_COLUMNS
    from optionscope.sources.files import read_file

    parsed = read_file(sample_path("SPY_quotedata_2025-09-25"))
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    chain = parsed.tables["option_chain_snapshots"].merge(
        parsed.tables["option_contracts"], on="contract_symbol"
    )
    chain["session_date"] = snapshot["session_date"]
    chain["parity_spot"] = snapshot["parity_spot"]
    return chain.loc[:, list(CHAIN_FRAME_COLUMNS)].sort_values("contract_symbol", ignore_index=True)
