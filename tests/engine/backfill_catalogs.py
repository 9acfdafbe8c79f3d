"""Catalog references of the backfill tests, importable by pool and Dask worker processes.

`tests/engine/conftest.py` puts this folder on the path of this process and, through
``PYTHONPATH``, of every worker process started after it.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from optionscope.metrics.families import technical
from optionscope.metrics.family import FamilyInputs, MetricFamily, family_table

BAD_TICKER = "TKB"
"""The ticker the flaky family raises on."""


def _explode_on_bad_ticker(inputs: FamilyInputs) -> pd.DataFrame:
    if inputs.ticker == BAD_TICKER:
        raise ZeroDivisionError(f"planted failure on {BAD_TICKER}")
    return technical.compute(inputs)


def _explosive(compute: object) -> MetricFamily:
    return dataclasses.replace(
        technical.FAMILY,
        name="explosive",
        compute=compute,  # type: ignore[arg-type]
        schema=family_table("explosive_metrics", technical.METRICS, technical.INPUTS, doc=""),
    )


def flaky_catalog() -> tuple[MetricFamily, ...]:
    """Technical, and a copy of it that raises on `BAD_TICKER`."""
    return (technical.FAMILY, _explosive(_explode_on_bad_ticker))


def fixed_catalog() -> tuple[MetricFamily, ...]:
    """The same two families after the fix: the copy computes like technical."""
    return (technical.FAMILY, _explosive(technical.compute))
