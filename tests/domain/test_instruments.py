import pytest

from optionscope.domain.instruments import (
    AssetClass,
    ExerciseStyle,
    SettlementType,
    classify_ticker,
    describe_ticker,
    exercise_style_of_root,
    settlement_type_of_root,
    underlying_of_root,
)


@pytest.mark.parametrize(
    ("ticker", "asset_class"),
    [
        ("SPX", AssetClass.INDEX),
        ("xsp", AssetClass.INDEX),
        ("SPY", AssetClass.ETF),
        ("QQQ", AssetClass.ETF),
        ("AAPL", AssetClass.EQUITY),
        ("BTC", AssetClass.CRYPTO),
        ("BTC-PERPETUAL", AssetClass.CRYPTO),
        ("ETH", AssetClass.CRYPTO),
    ],
)
def test_classify_ticker(ticker: str, asset_class: AssetClass) -> None:
    assert classify_ticker(ticker) is asset_class


@pytest.mark.parametrize(
    ("root", "underlying"),
    [
        ("SPXW", "SPX"),
        ("SPX", "SPX"),
        ("NDXP", "NDX"),
        ("RUTW", "RUT"),
        ("XSP", "XSP"),
        ("SPY", "SPY"),
        ("SPY7", "SPY"),
        ("BTC", "BTC"),
    ],
)
def test_underlying_of_root(root: str, underlying: str) -> None:
    assert underlying_of_root(root) == underlying


@pytest.mark.parametrize(
    ("root", "settlement"),
    [
        ("SPX", SettlementType.AM),
        ("NDX", SettlementType.AM),
        ("RUT", SettlementType.AM),
        ("SPXW", SettlementType.PM),
        ("NDXP", SettlementType.PM),
        ("XSP", SettlementType.PM),
        ("SPY", SettlementType.PM),
        ("AAPL", SettlementType.PM),
        ("BTC", SettlementType.FIXED),
    ],
)
def test_settlement_type_of_root(root: str, settlement: SettlementType) -> None:
    assert settlement_type_of_root(root) is settlement


def test_exercise_styles() -> None:
    assert exercise_style_of_root("SPXW") is ExerciseStyle.EUROPEAN
    assert exercise_style_of_root("OEX") is ExerciseStyle.AMERICAN
    assert exercise_style_of_root("SPY") is ExerciseStyle.AMERICAN
    assert exercise_style_of_root("ETH") is ExerciseStyle.EUROPEAN


def test_describe_ticker_gives_multiplier_currency_and_calendar() -> None:
    spy = describe_ticker("spy")
    assert (spy.ticker, spy.asset_class, spy.currency, spy.option_multiplier, spy.calendar) == (
        "SPY",
        "etf",
        "USD",
        100.0,
        "XNYS",
    )
    btc = describe_ticker("BTC")
    assert (btc.asset_class, btc.currency, btc.option_multiplier, btc.calendar) == (
        "crypto",
        "USD",
        1.0,
        "24/7",
    )
