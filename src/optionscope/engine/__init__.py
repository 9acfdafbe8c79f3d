"""The metric engine: plans event, batch and range runs and executes them on one code path.

```python
from optionscope.engine import RunMode, RunRequest, run_metrics
from optionscope.metrics.catalog import load_catalog

summary = run_metrics(store, load_catalog(), RunRequest(mode=RunMode.BATCH))
```
"""

from optionscope.engine.outcome import RunObserver, RunSummary, TickerOutcome
from optionscope.engine.plan import (
    DEFAULT_EVENT_SESSIONS,
    PlanError,
    RunMode,
    RunPlan,
    RunRequest,
    TickerPlan,
    watchlist,
)
from optionscope.engine.run import SchemaDriftError, prepare_tables, run_metrics
from optionscope.engine.runlog import METRIC_RUNS

__all__ = [
    "DEFAULT_EVENT_SESSIONS",
    "METRIC_RUNS",
    "PlanError",
    "RunMode",
    "RunObserver",
    "RunPlan",
    "RunRequest",
    "RunSummary",
    "SchemaDriftError",
    "TickerOutcome",
    "TickerPlan",
    "prepare_tables",
    "run_metrics",
    "watchlist",
]
