"""Deterministic synthetic market: underlyings and daily option chains, for scale tests."""

from optionscope.sources.simulator.market import SimulationSpec, simulate_sessions

__all__ = ["SimulationSpec", "simulate_sessions"]
