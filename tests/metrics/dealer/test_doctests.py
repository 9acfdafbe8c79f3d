"""Run the docstring examples of the dealer modules (formulas with worked values)."""

import doctest
import importlib

import pytest

MODULES = [
    "optionscope.metrics.dealer.compat",
    "optionscope.metrics.dealer.dgpi",
    "optionscope.metrics.dealer.exposure",
    "optionscope.metrics.dealer.position",
    "optionscope.metrics.dealer.slope",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"no examples in {name}"
    assert result.failed == 0, f"{result.failed} doctest failure(s) in {name}"
