"""optionscope."""
