"""What a run reports while it runs (observer protocol) and when it is done (summary)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import pandas as pd

from optionscope.engine.plan import RunPlan


@dataclass(frozen=True, slots=True)
class TickerOutcome:
    """How one ticker went.

    Attributes:
        ticker: The ticker.
        rows: Rows computed (all families).
        statuses: Row status -> count (all families).
        soft_failed: A row failed or had invalid input.
        seconds: Compute time of the ticker (its share of loading included).
        errors: ``family: reason`` of each failed family computation.
        note: Why nothing was computed, for a skipped ticker.
    """

    ticker: str
    rows: int
    statuses: Counter[str]
    soft_failed: bool
    seconds: float
    errors: tuple[str, ...] = ()
    note: str | None = None

    @property
    def skipped(self) -> bool:
        """Return True when the ticker had no session to compute."""
        return self.rows == 0

    def merged(self, other: TickerOutcome) -> TickerOutcome:
        """Return this outcome and another of the same ticker (a later date chunk) as one."""
        return TickerOutcome(
            ticker=self.ticker,
            rows=self.rows + other.rows,
            statuses=self.statuses + other.statuses,
            soft_failed=self.soft_failed or other.soft_failed,
            seconds=self.seconds + other.seconds,
            errors=self.errors + other.errors,
            note=self.note or other.note,
        )


class RunObserver(Protocol):
    """Progress reporting of a run (the CLI's progress bar implements it)."""

    def on_run_planned(self, plan: RunPlan) -> None:
        """Receive the plan before any computation starts."""

    def on_unit_done(self, outcome: TickerOutcome) -> None:
        """Receive the outcome of each work unit (a ticker's date chunk) once computed."""


@dataclass(slots=True)
class RunSummary:
    """What a run did.

    Attributes:
        run_id: Identifier (also the run log key).
        plan: The plan it executed.
        families: ``name@vN`` of the families computed.
        outcomes: One per ticker, in plan order.
        rows_written: Rows upserted (0 in a dry run).
        seconds: Total elapsed seconds.
        frames: Family name -> every computed row (kept in a dry run, for display).
    """

    run_id: str
    plan: RunPlan
    families: tuple[str, ...]
    outcomes: list[TickerOutcome] = field(default_factory=list)
    rows_written: int = 0
    seconds: float = 0.0
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        """Return the tickers that had sessions to compute."""
        return sum(1 for outcome in self.outcomes if not outcome.skipped)

    @property
    def soft_failed(self) -> int:
        """Return the tickers with a failed or invalid-input row."""
        return sum(1 for outcome in self.outcomes if outcome.soft_failed)

    @property
    def succeeded(self) -> int:
        """Return the processed tickers without a soft failure."""
        return self.processed - self.soft_failed

    @property
    def skipped(self) -> int:
        """Return the tickers with nothing to compute."""
        return sum(1 for outcome in self.outcomes if outcome.skipped)

    @property
    def rows_computed(self) -> int:
        """Return the rows computed across families."""
        return sum(outcome.rows for outcome in self.outcomes)

    @property
    def seconds_per_ticker(self) -> float:
        """Return the mean elapsed seconds per processed ticker (0 when none)."""
        return self.seconds / self.processed if self.processed else 0.0

    @property
    def statuses(self) -> Counter[str]:
        """Return row status -> count over the run."""
        total: Counter[str] = Counter()
        for outcome in self.outcomes:
            total.update(outcome.statuses)
        return total

    @property
    def as_of_range(self) -> tuple[date | None, date | None]:
        """Return the first and last planned sessions."""
        return self.plan.as_of_first, self.plan.as_of_last
