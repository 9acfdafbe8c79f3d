"""Metric family modules: one module per family, each exporting a `FAMILY` constant."""
