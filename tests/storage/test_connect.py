"""`open_store`: which backend a target opens, defaults, and password redaction."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pytest

from optionscope.domain import tables
from optionscope.storage import DuckDBStore, PostgresStore, open_store, redact_url, resolve_target
from optionscope.storage.connect import DB_VARIABLE, HOME_VARIABLE
from optionscope.storage.migrations import load_migrations


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv(DB_VARIABLE, raising=False)
    monkeypatch.delenv(HOME_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_an_explicit_target_wins(clean_environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DB_VARIABLE, "elsewhere.duckdb")
    assert resolve_target("mine.duckdb") == "mine.duckdb"
    assert resolve_target(Path("dir") / "x.duckdb") == str(Path("dir") / "x.duckdb")


def test_the_environment_names_the_default_store(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DB_VARIABLE, "postgresql://u@h/db")
    assert resolve_target(None) == "postgresql://u@h/db"


def test_without_target_the_store_lives_in_the_project_home(clean_environment: Path) -> None:
    assert resolve_target(None) == str(Path(".optionscope") / "optionscope.duckdb")
    assert (clean_environment / ".optionscope").is_dir()


def test_optionscope_home_moves_the_default_store(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_VARIABLE, str(clean_environment / "home"))
    assert resolve_target("") == str(clean_environment / "home" / "optionscope.duckdb")
    assert (clean_environment / "home").is_dir()


def test_a_duckdb_file_keeps_its_rows_across_opens(clean_environment: Path) -> None:
    path = clean_environment / "nested" / "dir" / "store.duckdb"
    tickers = pd.DataFrame(
        {
            "ticker": ["SPY"],
            "asset_class": ["etf"],
            "currency": ["USD"],
            "option_multiplier": [100.0],
            "is_watchlist": [True],
            "calendar": ["XNYS"],
            "name": ["SPDR S&P 500 ETF"],
        }
    )
    with open_store(path) as store:
        assert isinstance(store, DuckDBStore)
        assert store.backend == "duckdb"
        assert store.migrate() == [m.version for m in load_migrations("duckdb")]
        store.upsert(tables.TICKERS, tickers)
    with open_store(str(path)) as store:
        assert store.migrate() == []
        assert store.read(tables.TICKERS)["name"].tolist() == ["SPDR S&P 500 ETF"]
        assert store.url == str(path)


def test_memory_targets_open_an_empty_duckdb() -> None:
    with open_store(":memory:") as store:
        assert store.backend == "duckdb"
        assert store.schema_version() == 0
        assert store.describe().server_version.startswith("DuckDB ")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://alice:s3cret@db:5432/opt", "postgresql://alice:***@db:5432/opt"),
        ("postgres://alice@db/opt", "postgres://alice@db/opt"),
        (
            "postgresql://db/opt?user=alice&password=s3cret&sslmode=require",
            "postgresql://db/opt?user=alice&password=***&sslmode=require",
        ),
        ("postgresql://alice:p%40ss@db/opt", "postgresql://alice:***@db/opt"),
    ],
)
def test_passwords_are_redacted(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.postgres
def test_postgres_urls_open_a_postgres_store_with_a_redacted_url(postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    with_password = urlunsplit(
        parts._replace(netloc=f"postgres:hunter2@{parts.hostname}:{parts.port}")
    )
    with open_store(with_password) as store:  # the test server trusts local connections
        assert isinstance(store, PostgresStore)
        assert store.backend == "postgresql"
        assert "hunter2" not in store.url
        assert store.url.startswith("postgresql://postgres:***@127.0.0.1:")
        assert store.migrate() == [m.version for m in load_migrations("postgresql")]
