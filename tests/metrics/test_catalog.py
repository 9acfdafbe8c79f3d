"""The catalog contract (STYLE §2.3): every family is checked by the same property tests.

| test | catches |
|---|---|
| every family module is listed | a module in families/ never registered |
| catalog builds, refuses duplicates and bad entry points | registry errors |
| declared columns and input index, storable rows | schema drift |
| no look-ahead (hypothesis) | shift(-1), full-sample normalisation |
| declared lookback is enough (hypothesis) | a lookback smaller than the code needs |
| no mutation of the inputs | in-place edits of the caller's frames |
| every NULL has a reason | silent NULLs |
| golden file per name@vN | numbers that changed without a version bump |
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import os
import pkgutil
from collections.abc import Callable
from datetime import date
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optionscope.engine.rows import table_rows
from optionscope.engine.sessions import session_before, sessions_between
from optionscope.metrics import families as families_package
from optionscope.metrics.catalog import (
    ENTRY_POINT_GROUP,
    FAMILIES,
    CatalogError,
    UnknownFamilyError,
    build_catalog,
    entry_point_families,
    select_families,
)
from optionscope.metrics.family import Dataset, FamilyInputs, MetricFamily, canonical_json
from optionscope.storage.rows import prepare_rows, rows_to_frame

GOLDEN = Path(__file__).parent / "golden"
FAMILY_IDS = [family.name for family in FAMILIES]


def total_lookback(family: MetricFamily) -> int:
    values = [spec.lookback_sessions for spec in family.inputs]
    if family.history is not None:
        values.append(family.history.lookback_sessions)
    return max(values)


def make_inputs(
    family: MetricFamily,
    bars: pd.DataFrame,
    as_of: list[date],
    chains: pd.DataFrame | None = None,
    *,
    extra_sessions: int = 0,
) -> FamilyInputs:
    """Inputs as the engine serves them: sessions from the family's lookback (plus extra)."""
    start = session_before(as_of[0], total_lookback(family) + extra_sessions, "XNYS")
    frames = {
        Dataset.OHLCV_DAILY: bars[
            (bars["session_date"] >= start) & (bars["session_date"] <= as_of[-1])
        ]
    }
    if chains is not None:
        frames[Dataset.OPTION_CHAINS] = chains[chains["session_date"].isin(set(as_of))]
    if family.history is not None:
        frames[Dataset.OWN_HISTORY] = pd.DataFrame(columns=["as_of", *family.history.columns])
    return FamilyInputs(
        "SPY", "XNYS", tuple(sessions_between(start, as_of[-1], "XNYS")), tuple(as_of), frames
    )


def storable(family: MetricFamily, inputs: FamilyInputs, computed: pd.DataFrame) -> pd.DataFrame:
    """Return computed rows as the store returns them (validated by the store's own rules)."""
    parameters = canonical_json(dict(family.parameters(inputs)))
    rows = table_rows(family, inputs.ticker, inputs.as_of_dates, computed, parameters)
    return rows_to_frame(family.schema, prepare_rows(family.schema, rows))


def test_every_family_module_is_listed_in_the_catalog() -> None:
    names = [info.name for info in pkgutil.iter_modules(families_package.__path__)]
    modules = [importlib.import_module(f"optionscope.metrics.families.{name}") for name in names]

    assert sorted(names) == sorted(FAMILY_IDS)
    assert all(module.FAMILY in FAMILIES for module in modules)


def test_catalog_builds_and_refuses_duplicates() -> None:
    assert build_catalog(FAMILIES) == FAMILIES
    with pytest.raises(CatalogError, match="share the name"):
        build_catalog((*FAMILIES, FAMILIES[0]))
    renamed = dataclasses.replace(FAMILIES[0], name="technical_copy")
    with pytest.raises(CatalogError, match="share the table"):
        build_catalog((*FAMILIES, renamed))
    broken = dataclasses.replace(FAMILIES[0], metric_columns=("not_a_column",))
    with pytest.raises(CatalogError, match="not_a_column"):
        build_catalog((broken,))


def test_entry_points_add_families_and_refuse_other_objects() -> None:
    good = EntryPoint("skew", "optionscope.metrics.families.technical:FAMILY", ENTRY_POINT_GROUP)
    bad = EntryPoint("oops", "optionscope.metrics.families.technical:NAME", ENTRY_POINT_GROUP)

    assert entry_point_families([good]) == (FAMILIES[0],)
    with pytest.raises(CatalogError, match="oops"):
        entry_point_families([bad])
    assert entry_point_families() == ()  # nothing installed registers one here


def test_selecting_an_unknown_family_names_the_known_ones() -> None:
    assert select_families(FAMILIES, ["volatility"]) == (FAMILIES[1],)
    known = "known: \\['dealer', 'technical', 'volatility'\\]"
    with pytest.raises(UnknownFamilyError, match=known):
        select_families(FAMILIES, ["skew"])


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_output_has_declared_columns_input_index_and_storable_rows(
    family: MetricFamily, spy_bars: pd.DataFrame, spy_chain: pd.DataFrame
) -> None:
    as_of = [date(2025, 9, 24), date(2025, 9, 25), date(2025, 9, 26)]
    inputs = make_inputs(family, spy_bars, as_of, spy_chain)

    computed = family.compute(inputs)
    stored = storable(family, inputs, computed)

    assert list(computed.columns) == list(family.computed_columns)
    assert list(computed.index) == as_of
    expected = {
        "technical": ["ok"] * 3,
        "volatility": ["partial"] * 3,
        "dealer": ["partial", "ok", "partial"],  # the chain is on 2025-09-25 only
    }
    assert list(stored["status"]) == expected[family.name]


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_every_null_metric_has_a_reason_and_no_value_has_one(
    family: MetricFamily, spy_bars: pd.DataFrame, spy_chain: pd.DataFrame
) -> None:
    as_of = [*sessions_between(date(2021, 1, 11), date(2021, 2, 1), "XNYS"), date(2025, 9, 25)]
    computed = family.compute(make_inputs(family, spy_bars, as_of, spy_chain))

    for as_of_day, row in computed.iterrows():
        reasons = json.loads(row["null_reasons_json"])
        nulls = {name for name in family.metric_columns if np.isnan(row[name])}
        assert set(reasons) == nulls, as_of_day
    assert (
        "insufficient_history: 1 of 252 sessions have bars" in computed.iloc[0]["null_reasons_json"]
        or family.name != "technical"
    )


def truncate(inputs: FamilyInputs, day: date) -> FamilyInputs:
    frames = {}
    for dataset, frame in inputs.frames.items():
        column = "as_of" if dataset is Dataset.OWN_HISTORY else "session_date"
        frames[dataset] = frame[frame[column] <= day] if len(frame) else frame
    sessions = tuple(s for s in inputs.sessions if s <= day)
    as_of = tuple(d for d in inputs.as_of_dates if d <= day)
    return dataclasses.replace(inputs, sessions=sessions, as_of_dates=as_of, frames=frames)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_lookahead(
    family: MetricFamily,
    make_bars: Callable[..., pd.DataFrame],
    spy_chain: pd.DataFrame,
    data: st.DataObject,
) -> None:
    lookback = total_lookback(family)
    count = data.draw(st.integers(lookback + 2, lookback + 40), label="bars")
    bars = make_bars(
        count,
        data.draw(st.integers(0, 2**32 - 1), label="seed"),
        data.draw(st.sampled_from(["walk", "gaps", "steps", "zero_volume"])),
        start="2024-06-03",
    )
    as_of = list(bars["session_date"].iloc[-data.draw(st.integers(2, 8), label="rows") :])
    chains = spy_chain.assign(session_date=as_of[0])  # a chain on the first as-of session
    full = family.compute(make_inputs(family, bars, as_of, chains))
    cut = as_of[data.draw(st.integers(0, len(as_of) - 2), label="cut")]

    partial = family.compute(truncate(make_inputs(family, bars, as_of, chains), cut))

    pd.testing.assert_frame_equal(partial, full.loc[full.index <= cut], check_exact=True)


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_declared_lookback_is_enough(
    family: MetricFamily,
    make_bars: Callable[..., pd.DataFrame],
    spy_chain: pd.DataFrame,
    data: st.DataObject,
) -> None:
    lookback = total_lookback(family)
    bars = make_bars(
        lookback + 160,
        data.draw(st.integers(0, 2**32 - 1), label="seed"),
        data.draw(st.sampled_from(["walk", "gaps", "flat"])),
        start="2024-01-02",
    )
    as_of = list(bars["session_date"].iloc[-data.draw(st.integers(1, 5), label="rows") :])
    chains = spy_chain.assign(session_date=as_of[-1])

    exact = family.compute(make_inputs(family, bars, as_of, chains))
    longer = family.compute(make_inputs(family, bars, as_of, chains, extra_sessions=150))

    pd.testing.assert_frame_equal(exact, longer, check_exact=True)
    assert (exact["status"] != "empty").all()  # the windows really filled


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_compute_does_not_mutate_its_input(
    family: MetricFamily, spy_bars: pd.DataFrame, spy_chain: pd.DataFrame
) -> None:
    inputs = make_inputs(family, spy_bars, [date(2025, 9, 25), date(2025, 9, 26)], spy_chain)
    before = copy.deepcopy(dict(inputs.frames))

    family.compute(inputs)

    for dataset, frame in before.items():
        pd.testing.assert_frame_equal(inputs.frames[dataset], frame, check_exact=True)


def golden_frame(
    family: MetricFamily, spy_bars: pd.DataFrame, spy_chain: pd.DataFrame
) -> pd.DataFrame:
    as_of = [date(2025, 9, 24), date(2025, 9, 25), date(2026, 1, 8)]
    inputs = make_inputs(family, spy_bars, as_of, spy_chain)
    return storable(family, inputs, family.compute(inputs))


@pytest.mark.parametrize("family", FAMILIES, ids=FAMILY_IDS)
def test_golden_values_change_only_with_a_version_bump(
    family: MetricFamily, spy_bars: pd.DataFrame, spy_chain: pd.DataFrame
) -> None:
    path = GOLDEN / f"{family.key}.csv"
    frame = golden_frame(family, spy_bars, spy_chain)
    text = frame.to_csv(index=False, float_format="%.17g", date_format="%Y-%m-%dT%H:%M:%S%z")
    if os.environ.get("OPTIONSCOPE_WRITE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), (
        f"no golden file for {family.key}: if the numbers changed on purpose, bump the "
        "version; then run OPTIONSCOPE_WRITE_GOLDEN=1 pytest tests/metrics/test_catalog.py "
        "and review the new file"
    )
    golden = pd.read_csv(path)
    current = pd.read_csv(pd.io.common.StringIO(text))
    pd.testing.assert_frame_equal(current, golden, check_exact=False, rtol=1e-12, atol=1e-14)
