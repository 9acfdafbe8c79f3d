"""Caller-supplied facts an importer may need: a capture instant, a ticker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """Options shared by all importers.

    Attributes:
        snapshot_time: Capture instant (UTC) for chain files that do not state one; for files
            that do, it replaces the file's instant and the snapshot is flagged.
        ticker: Ticker for bar files whose rows and name do not state it (overrides both).
    """

    snapshot_time: pd.Timestamp | None = None
    ticker: str | None = None

    @classmethod
    def create(
        cls, snapshot_time: datetime | str | None = None, ticker: str | None = None
    ) -> ReadOptions:
        """Return options with `snapshot_time` as a UTC Timestamp and `ticker` upper-cased.

        Raises:
            ValueError: `snapshot_time` has no time zone.
        """
        stamp = None
        if snapshot_time is not None:
            stamp = pd.Timestamp(snapshot_time)
            if stamp.tzinfo is None:
                raise ValueError(f"snapshot_time {snapshot_time!r} needs a time zone (UTC offset)")
            stamp = stamp.tz_convert("UTC")
        name = ticker.strip().upper() if ticker is not None and ticker.strip() else None
        return cls(stamp, name)
