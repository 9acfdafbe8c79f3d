"""Dealer positioning metrics: GEX, gamma flip, walls, GEX slope, DGPI, position, confidence.

``compute(chain, spot=, as_of=, params=)`` takes one snapshot's canonical chain frames and
returns a ``DealerMetrics`` (headline values, details, arrays for charts, a deterministic
JSON payload). Pure: no store, no clock, no network. Definitions and their sources are in
docs/research/dealer-metrics.md (METHODOLOGY §1); the seed story's definitions are the
``DealerMode.SEED_COMPAT`` mode.

Modules: ``chain`` (contract frame: T, forward, our IV and greeks), ``filters``,
``exposure`` (GEX and Greeks exposures, aggregation), ``sign`` (dealer sign policies),
``profile`` (re-priced gamma profile and flip), ``walls``, ``slope``, ``dgpi``,
``position`` (position and confidence), ``compat`` (seed logic), ``result``, ``pipeline``.
"""

from optionscope.metrics.dealer.chain import ContractSet, build_contracts, merge_chain_tables
from optionscope.metrics.dealer.filters import FilterReport, apply_filters
from optionscope.metrics.dealer.params import (
    MODEL_VERSION,
    SLICE_NAMES,
    DealerMode,
    DealerParams,
    MarketContext,
)
from optionscope.metrics.dealer.pipeline import compute
from optionscope.metrics.dealer.result import TYPED_COLUMNS, DealerMetrics
from optionscope.metrics.dealer.sign import (
    DEFAULT_SIGN_POLICY,
    SEED_SIGN_POLICY,
    SIGN_POLICIES,
    FixedSignPolicy,
    SignPolicy,
    get_sign_policy,
)

__all__ = [
    "DEFAULT_SIGN_POLICY",
    "MODEL_VERSION",
    "SEED_SIGN_POLICY",
    "SIGN_POLICIES",
    "SLICE_NAMES",
    "TYPED_COLUMNS",
    "ContractSet",
    "DealerMetrics",
    "DealerMode",
    "DealerParams",
    "FilterReport",
    "FixedSignPolicy",
    "MarketContext",
    "SignPolicy",
    "apply_filters",
    "build_contracts",
    "compute",
    "get_sign_policy",
    "merge_chain_tables",
]
