"""The gamma flip on every real Cboe chain against an independent, plain spot sweep.

For each ``cboe_*`` chain in ../shared/data: load it with ``read_file``, take the spot from
the snapshot (put-call parity spot, else the header's last), run ``dealer.compute`` with
the default parameters (relaxing the DTE, open-interest and volume filters only for chains
that have nothing left, the one-expiry long-dated files) and compare its flip with
``sweep_flip`` below.

``sweep_flip`` shares no code with ``metrics.dealer.profile``: it takes the eligible
contracts' inputs (K, T, r, q, IV, OI, multiplier, dealer sign), evaluates the textbook BSM
gamma ``e^(-qT)·φ(d1)/(L·sigma·√T)`` with ``scipy.stats.norm`` on the columns at each
level of its own grid (0.075% of spot apart, not the engine's 0.1%), finds the sign
changes, refines each with ``scipy.optimize.brentq`` and takes the zero nearest spot.
Agreement: both ``None``, or within 0.1% of spot.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

from optionscope.metrics import dealer
from optionscope.sources.files import read_file

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
CHAINS = sorted(DATA.glob("cboe_*/*.csv")) if DATA.is_dir() else []
TOLERANCE_OF_SPOT = 0.001
SWEEP_STEP = 0.00075
RELAXED = dealer.DealerParams(max_dte_days=None, min_open_interest=None, min_volume=None)


def sweep_flip(contracts: pd.DataFrame, *, spot: float, rate: float, window: float) -> float | None:
    """Return the re-priced net GEX zero nearest spot by a plain sweep (see module doc)."""
    usable = contracts[(contracts["sigma"] > 0) & (contracts["gamma_source"] != "vendor_gamma")]
    strike = usable["strike"].to_numpy()
    years = usable["years_to_expiry"].to_numpy()
    q = usable["dividend_yield"].to_numpy()
    sigma = usable["sigma"].to_numpy()
    weight = (usable["dealer_sign"] * usable["open_interest"] * usable["multiplier"]).to_numpy()

    def net_gex(level: float) -> float:
        d1 = (np.log(level / strike) + (rate - q + sigma**2 / 2) * years) / (sigma * np.sqrt(years))
        gamma = np.exp(-q * years) * norm.pdf(d1) / (level * sigma * np.sqrt(years))
        return float((weight * gamma * level**2 * 0.01).sum())

    levels = spot * np.arange(1 - window, 1 + window + SWEEP_STEP / 2, SWEEP_STEP)
    values = pd.Series([net_gex(level) for level in levels], index=levels)
    values = values[values != 0]
    signs = np.sign(values.to_numpy())
    roots = [
        brentq(net_gex, values.index[int(i)], values.index[int(i) + 1], xtol=1e-9 * spot)
        for i in np.flatnonzero(signs[1:] != signs[:-1])
    ]
    return min(roots, key=lambda root: abs(root - spot)) if roots else None


def _spot(snapshot: pd.Series) -> float:
    for name in ("parity_spot", "header_spot"):
        value = snapshot.get(name)
        if value is not None and math.isfinite(value) and value > 0:
            return float(value)
    raise AssertionError("snapshot has no spot")


@pytest.mark.skipif(not CHAINS, reason=f"no real Cboe chains under {DATA}")
@pytest.mark.parametrize("path", CHAINS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_flip_agrees_with_an_independent_sweep(path: Path) -> None:
    parsed = read_file(path)
    snapshot = parsed.tables["chain_snapshots"].iloc[0]
    spot = _spot(snapshot)
    params = dealer.DealerParams()
    result = dealer.compute(
        parsed.tables, spot=spot, as_of=snapshot["snapshot_time"], params=params
    )
    if result.diagnostics.get("invalid_reasons") == ["all_filtered"]:
        params = RELAXED
        result = dealer.compute(
            parsed.tables, spot=spot, as_of=snapshot["snapshot_time"], params=params
        )
    assert result.confidence != "invalid", result.diagnostics
    assert result.profile is not None
    assert result.exposure is not None
    expected = sweep_flip(
        result.contracts, spot=spot, rate=result.diagnostics["rate"],
        window=params.profile_range_pct,
    )  # fmt: skip
    flip = result.gamma_flip
    if expected is None:
        assert flip is None
        assert result.flip is not None
        assert result.flip.profile_sign in {"positive", "negative"}
    else:
        assert flip is not None
        assert abs(flip - expected) <= TOLERANCE_OF_SPOT * spot
        # The profile at the flip is zero to the root finder's tolerance.
        assert abs(result.profile.inputs.value(flip)) <= 1e-6 * result.exposure.total_gex
