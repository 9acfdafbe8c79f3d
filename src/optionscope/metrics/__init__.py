"""Metric math: TA-Lib-exact indicators, volatility estimators and the metric families.

Pure functions over arrays and frames (no store, no clock, no network). Families live in
`metrics.families` and are listed in `metrics.catalog`; `metrics.technical` holds the public
indicator functions (``metrics.technical.rsi(close, 14)``, ...).
"""

from optionscope.metrics import technical

__all__ = ["technical"]
