from datetime import UTC, date, datetime

import pandas as pd
import pytest

from optionscope.domain.calendar import (
    NEW_YORK,
    CalendarRangeError,
    bar_sessions_of,
    is_session,
    previous_session,
    session_date_of,
    settlement_instant,
    settlement_instants,
    trading_sessions,
)


def et(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("instant", "session"),
    [
        (et(2025, 9, 1, 18, 50), date(2025, 8, 29)),  # Labor Day evening
        (et(2025, 9, 3, 9, 24), date(2025, 9, 2)),  # before the open
        (et(2025, 9, 3, 9, 30), date(2025, 9, 3)),  # at the open
        (et(2025, 5, 8, 16, 57), date(2025, 5, 8)),  # after the close, same day
        (et(2022, 2, 5, 20, 26), date(2022, 2, 4)),  # Saturday
        (et(2025, 11, 28, 15, 0), date(2025, 11, 28)),  # half day, afternoon
        (datetime(2023, 3, 13, 13, 29, tzinfo=UTC), date(2023, 3, 10)),  # 09:29 EDT Monday
        (datetime(2023, 3, 13, 13, 30, tzinfo=UTC), date(2023, 3, 13)),  # 09:30 EDT (DST)
        (datetime(2023, 3, 10, 14, 29, tzinfo=UTC), date(2023, 3, 9)),  # 09:29 EST Friday
    ],
)
def test_session_date_of_follows_the_xnys_rule(instant: datetime, session: date) -> None:
    assert session_date_of(instant) == session


def test_session_date_of_crypto_is_the_utc_date() -> None:
    assert session_date_of(datetime(2025, 5, 27, 23, 59, tzinfo=UTC), "24/7") == date(2025, 5, 27)
    assert session_date_of(et(2025, 5, 27, 21, 0), "24/7") == date(2025, 5, 28)


def test_session_date_of_refuses_naive_instants() -> None:
    with pytest.raises(ValueError, match="naive"):
        session_date_of(datetime(2025, 1, 2, 12, 0))  # noqa: DTZ001


def test_sessions_and_holidays() -> None:
    assert not is_session(date(2025, 9, 1))
    assert is_session(date(2025, 9, 2))
    assert previous_session(date(2025, 9, 2)) == date(2025, 8, 29)
    assert trading_sessions(date(2024, 12, 24), 3) == [
        date(2024, 12, 24),
        date(2024, 12, 26),
        date(2024, 12, 27),
    ]
    with pytest.raises(CalendarRangeError):
        is_session(date(1980, 1, 2))


def test_settlement_instants_am_pm_and_deribit_with_dst() -> None:
    assert settlement_instant(date(2023, 9, 15), "AM") == pd.Timestamp("2023-09-15 13:30Z")
    assert settlement_instant(date(2023, 12, 15), "AM") == pd.Timestamp("2023-12-15 14:30Z")
    assert settlement_instant(date(2023, 9, 15), "PM") == pd.Timestamp("2023-09-15 20:00Z")
    assert settlement_instant(date(2023, 12, 15), "PM") == pd.Timestamp("2023-12-15 21:00Z")
    assert settlement_instant(date(2025, 7, 3), "PM") == pd.Timestamp("2025-07-03 17:00Z")
    assert settlement_instant(date(2025, 5, 27), "FIXED") == pd.Timestamp("2025-05-27 08:00Z")


def test_settlement_instants_by_root() -> None:
    frame = settlement_instants(
        pd.Series(["SPX", "SPXW", "BTC"]),
        pd.Series([date(2026, 6, 18), date(2026, 6, 18), date(2026, 6, 18)]),
    )
    assert frame["settlement_type"].tolist() == ["AM", "PM", "FIXED"]
    assert frame["settlement_time"].tolist() == [
        pd.Timestamp("2026-06-18 13:30Z"),
        pd.Timestamp("2026-06-18 20:00Z"),
        pd.Timestamp("2026-06-18 08:00Z"),
    ]


def test_bar_sessions_mark_regular_hours_and_half_days() -> None:
    local = pd.Series(
        pd.to_datetime(
            [
                "2025-07-03 04:00",
                "2025-07-03 09:29",
                "2025-07-03 09:30",
                "2025-07-03 12:59",
                "2025-07-03 13:00",
                "2025-07-04 10:00",
                "2025-07-07 15:59",
                "2025-07-07 16:00",
            ]
        )
    ).dt.tz_localize(NEW_YORK)
    frame = bar_sessions_of(local)
    assert frame["is_regular_session"].tolist() == [
        False,
        False,
        True,
        True,
        False,
        False,
        True,
        False,
    ]
    assert frame["is_session_day"].tolist() == [True] * 5 + [False, True, True]
    assert frame["session_date"].iloc[0] == date(2025, 7, 3)
