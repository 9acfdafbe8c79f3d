"""Time to expiry from timezone-aware instants and settlement times."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from optionscope.domain.calendar import NEW_YORK, settlement_instant
from optionscope.pricing import (
    SECONDS_PER_YEAR,
    T_MIN_YEARS,
    time_to_expiry,
    year_fraction,
)

UTC = dt.UTC


def test_year_fraction_uses_365_day_years_and_is_signed():
    start = dt.datetime(2023, 9, 14, 16, 31, tzinfo=NEW_YORK)
    end = settlement_instant(dt.date(2023, 9, 15), "AM")
    assert year_fraction(start=start, end=end) * 525_600 == pytest.approx(1019.0, abs=1e-9)
    assert year_fraction(start=end, end=start) == pytest.approx(-1019.0 / 525_600, abs=1e-15)
    one_year = year_fraction(
        start=dt.datetime(2023, 1, 1, tzinfo=UTC), end=dt.datetime(2024, 1, 1, tzinfo=UTC)
    )
    assert one_year == 1.0


def test_time_to_expiry_is_floored_for_zero_dte_and_expired_contracts():
    close = settlement_instant(dt.date(2024, 3, 15), "PM")
    now = [dt.datetime(2024, 3, 15, 9, 30, tzinfo=NEW_YORK),
           dt.datetime(2024, 3, 15, 15, 58, tzinfo=NEW_YORK),
           dt.datetime(2024, 3, 15, 16, 30, tzinfo=NEW_YORK)]  # fmt: skip
    T = time_to_expiry(now=now, expiry=close)
    assert T[0] == pytest.approx(6.5 * 3600 / SECONDS_PER_YEAR, rel=1e-12)
    assert T[1] == T[2] == T_MIN_YEARS
    assert pytest.approx(5.0) == T_MIN_YEARS * 525_600
    assert time_to_expiry(now=now[2], expiry=close, t_min_years=0.0) == 0.0


def test_numpy_and_pandas_instants_are_accepted():
    expiry = np.array(["2026-03-13T08:00", "2026-12-25T08:00", "NaT"], dtype="datetime64[ns]")
    now_numpy = np.datetime64("2026-03-01T13:40", "ns")
    now_pandas = pd.Timestamp("2026-03-01 08:40", tz="America/New_York")
    by_numpy = time_to_expiry(now=now_numpy, expiry=expiry)
    by_pandas = time_to_expiry(now=now_pandas, expiry=expiry)
    np.testing.assert_array_equal(by_numpy, by_pandas)
    assert by_numpy[0] == pytest.approx((11 * 86400 + 18 * 3600 + 20 * 60) / SECONDS_PER_YEAR)
    assert np.isnan(by_numpy[2])
    series = pd.Series(pd.to_datetime(["2026-03-13 08:00", "2026-12-25 08:00"], utc=True))
    np.testing.assert_array_equal(
        time_to_expiry(now=now_pandas, expiry=series.to_numpy(dtype=object)), by_numpy[:2]
    )


def test_naive_datetimes_are_refused():
    naive = dt.datetime(2024, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive datetime"):
        year_fraction(start=naive, end=dt.datetime(2024, 2, 1, tzinfo=UTC))
