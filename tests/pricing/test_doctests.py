"""Run the docstring examples of every pricing module (the textbook values are tests)."""

import doctest
import importlib

import pytest

MODULES = [
    "optionscope.pricing",
    "optionscope.pricing.black_scholes",
    "optionscope.pricing.black76",
    "optionscope.pricing.implied_vol",
    "optionscope.pricing.parity",
    "optionscope.pricing.expiry",
    "optionscope.pricing._forward",
    "optionscope.pricing._lets_be_rational",
    "optionscope.pricing._normal",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest failure(s) in {name}"


def test_public_functions_have_examples():
    finder = doctest.DocTestFinder()
    names = {test.name.rsplit(".", 1)[-1] for name in MODULES for test in finder.find(
        importlib.import_module(name)) if test.examples}  # fmt: skip
    for function in ["price", "greeks", "implied_vol", "implied_vol_with_reasons",
                     "coin_price", "implied_vol_from_coin_price", "forward_from_parity",
                     "time_to_expiry", "year_fraction"]:  # fmt: skip
        assert function in names, function
