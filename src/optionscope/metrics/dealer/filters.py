"""Contract filters of the dealer metrics, applied in order, with the count each removes.

Default filters (issue 6; the seed story's job applies the same ones, METHODOLOGY §1.12):

| step | keeps a contract when | parameter (default) |
|---|---|---|
| ``expired`` | settlement instant after ``as_of`` | ``exclude_expired`` (on) |
| ``max_dte_days`` | expiry at most N calendar days after the session date | ``max_dte_days`` (90) |
| ``gamma_available`` | a finite gamma (ours, or a recorded vendor fallback) | ``require_gamma`` |
| ``open_interest_positive`` | open interest > 0 (missing fails) | ``require_positive_...`` |
| ``min_open_interest`` | open interest >= N | ``min_open_interest`` (100) |
| ``min_volume`` | session volume >= N (missing counts as 0) | ``min_volume`` (1) |

The series-level steps come first, so contracts left unpriced because of them (``chain``
prices only series that can pass) are counted there and not as missing gamma. The volume
filter drops open positions that merely did not trade that session; it is kept
on by default because the seed story has it, and documented as a limitation.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from optionscope.metrics.dealer.params import DealerParams

__all__ = ["FilterReport", "FilterStep", "apply_filters"]

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class FilterStep:
    """One filter: its setting and how many contracts it removed.

    Attributes:
        name: Step name (module table).
        parameter: Effective setting (bool, threshold, or ``None`` when disabled).
        enabled: Whether the step ran.
        removed: Contracts it removed (0 when disabled).
        remaining: Contracts left after it.
    """

    name: str
    parameter: Any
    enabled: bool
    removed: int
    remaining: int

    def to_dict(self) -> dict[str, Any]:
        """Return the step as JSON-ready values."""
        return {
            "name": self.name,
            "parameter": self.parameter,
            "enabled": self.enabled,
            "removed": self.removed,
            "remaining": self.remaining,
        }


@dataclass(frozen=True, slots=True)
class FilterReport:
    """Effective filters and counts of one computation.

    Attributes:
        input_contracts: Contracts before any filter.
        steps: The steps in the order applied.
        eligible_contracts: Contracts left after all steps.
    """

    input_contracts: int
    steps: tuple[FilterStep, ...]
    eligible_contracts: int

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready values."""
        return {
            "input_contracts": self.input_contracts,
            "steps": [step.to_dict() for step in self.steps],
            "eligible_contracts": self.eligible_contracts,
        }


def _rules(frame: pd.DataFrame, params: DealerParams) -> list[tuple[str, Any, BoolArray | None]]:
    """Return (name, setting, keep-mask or None when disabled) per step."""
    oi = frame["open_interest"].to_numpy(dtype=np.float64)
    volume = np.nan_to_num(frame["volume"].to_numpy(dtype=np.float64), nan=0.0)
    gamma = frame["gamma"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return [
            ("expired", params.exclude_expired,
             ~frame["expired"].to_numpy(dtype=bool) if params.exclude_expired else None),
            ("max_dte_days", params.max_dte_days,
             None if params.max_dte_days is None
             else frame["dte_days"].to_numpy() <= params.max_dte_days),
            ("gamma_available", params.require_gamma,
             np.isfinite(gamma) if params.require_gamma else None),
            ("open_interest_positive", params.require_positive_open_interest,
             oi > 0.0 if params.require_positive_open_interest else None),
            ("min_open_interest", params.min_open_interest,
             None if params.min_open_interest is None else oi >= params.min_open_interest),
            ("min_volume", params.min_volume,
             None if params.min_volume is None else volume >= params.min_volume),
        ]  # fmt: skip


def apply_filters(frame: pd.DataFrame, params: DealerParams) -> tuple[pd.DataFrame, FilterReport]:
    """Return the eligible contracts and the report of what each filter removed.

    Args:
        frame: Contract frame from ``chain.build_contracts``.
        params: Filter settings (``DealerParams``).

    Returns:
        The rows that pass every enabled filter (index reset) and a ``FilterReport``.
    """
    keep = np.ones(len(frame), dtype=bool)
    steps: list[FilterStep] = []
    for name, setting, mask in _rules(frame, params):
        before = int(keep.sum())
        if mask is not None:
            keep &= mask
        remaining = int(keep.sum())
        steps.append(FilterStep(name, setting, mask is not None, before - remaining, remaining))
    report = FilterReport(len(frame), tuple(steps), int(keep.sum()))
    return frame[keep].reset_index(drop=True), report
