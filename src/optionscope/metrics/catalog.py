"""The catalog of metric families: one explicit tuple, plus third-party entry points.

`FAMILIES` lists every family that ships with optionscope (a test fails when a module in
`metrics/families/` is missing from it). Other packages add theirs by declaring an entry point
in the group `ENTRY_POINT_GROUP` that resolves to a `MetricFamily`::

    [project.entry-points."optionscope.metric_families"]
    skew = "my_package.skew:FAMILY"

`load_catalog()` returns the built-in families followed by the entry-point ones (sorted by
entry-point name). The engine receives a catalog as an argument and never looks one up itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib.metadata import EntryPoint, entry_points

from optionscope.metrics.families import dealer, technical, volatility
from optionscope.metrics.family import ENGINE_COLUMNS, STATUS_COLUMNS, MetricFamily

ENTRY_POINT_GROUP = "optionscope.metric_families"

FAMILIES: tuple[MetricFamily, ...] = (technical.FAMILY, volatility.FAMILY, dealer.FAMILY)
"""The built-in families, in the order they run."""


class CatalogError(ValueError):
    """A catalog is inconsistent: duplicate names or tables, or a malformed family."""


class UnknownFamilyError(KeyError):
    """A family name is not in the catalog."""


def check_family(family: MetricFamily) -> None:
    """Raise `CatalogError` when a family's spec breaks the table conventions.

    Checks: primary key ``(ticker, as_of, model_version)``, the engine and status columns
    present, metric columns in the schema and nullable, positive version and lookbacks.
    """
    schema = family.schema
    problems = []
    if schema.primary_key != ("ticker", "as_of", "model_version"):
        problems.append(f"primary key is {schema.primary_key}")
    missing = [c for c in (*ENGINE_COLUMNS, *STATUS_COLUMNS) if c not in schema.column_names]
    if missing:
        problems.append(f"missing columns {missing}")
    problems.extend(
        f"metric column {name!r} absent or not nullable"
        for name in family.metric_columns
        if name not in schema.column_names or not schema.column(name).nullable
    )
    if family.version < 1:
        problems.append("version must be >= 1")
    if any(spec.lookback_sessions < 0 for spec in family.inputs):
        problems.append("negative lookback")
    if problems:
        raise CatalogError(f"family {family.name}: " + "; ".join(problems))


def build_catalog(families: Iterable[MetricFamily]) -> tuple[MetricFamily, ...]:
    """Return `families` as a checked catalog (unique names and tables, valid specs).

    Raises:
        CatalogError: A family is malformed, or two share a name or a table.
    """
    catalog = tuple(families)
    for family in catalog:
        check_family(family)
    for attribute in ("name", "table"):
        seen: set[str] = set()
        for family in catalog:
            value = family.name if attribute == "name" else family.schema.name
            if value in seen:
                raise CatalogError(f"two families share the {attribute} {value!r}")
            seen.add(value)
    return catalog


def entry_point_families(
    points: Sequence[EntryPoint] | None = None,
) -> tuple[MetricFamily, ...]:
    """Return the families registered under `ENTRY_POINT_GROUP`, by entry-point name.

    Raises:
        CatalogError: An entry point does not resolve to a `MetricFamily`.
    """
    found = list(entry_points(group=ENTRY_POINT_GROUP)) if points is None else list(points)
    families = []
    for point in sorted(found, key=lambda p: p.name):
        family = point.load()
        if not isinstance(family, MetricFamily):
            raise CatalogError(
                f"entry point {point.name!r} gives {type(family).__name__}, not a MetricFamily"
            )
        families.append(family)
    return tuple(families)


def load_catalog(*, include_entry_points: bool = True) -> tuple[MetricFamily, ...]:
    """Return the built-in families plus the installed third-party ones, checked."""
    extra = entry_point_families() if include_entry_points else ()
    return build_catalog((*FAMILIES, *extra))


def select_families(
    catalog: Sequence[MetricFamily], names: Iterable[str] | None
) -> tuple[MetricFamily, ...]:
    """Return the families of `catalog` named in `names` (all when None), catalog order.

    Raises:
        UnknownFamilyError: A name is not in the catalog (the message lists the known ones).
    """
    if names is None:
        return tuple(catalog)
    wanted = list(dict.fromkeys(names))
    known = {family.name for family in catalog}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise UnknownFamilyError(
            f"unknown metric famil{'y' if len(unknown) == 1 else 'ies'} {unknown}; "
            f"known: {sorted(known)}"
        )
    return tuple(family for family in catalog if family.name in wanted)
