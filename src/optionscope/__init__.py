"""Offline-first options market-structure and volatility analytics engine."""

__version__ = "0.1.0"
