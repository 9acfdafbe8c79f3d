"""Start and stop a throwaway local PostgreSQL server from the binaries on this machine.

The test suite and `benchmarks/store_load.py` use it; so can anyone who wants a scratch server
without touching the system cluster. The server lives in a fresh temporary directory, listens
on 127.0.0.1 and a unix socket inside that directory, trusts local connections, trades
durability for speed (`fsync=off`) and is removed with its directory by `stop()`.

PostgreSQL refuses to run as root, so when this process is root the server runs as the
unprivileged `postgres` account (the Debian packages create it) and the directory is handed
to that account.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import psycopg

BINDIR_VARIABLE = "OPTIONSCOPE_POSTGRES_BINDIR"
"""Environment variable that names the PostgreSQL `bin` directory explicitly."""

SERVER_ACCOUNT = "postgres"
"""Operating-system account the server runs as when this process is root."""

FAST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "shared_buffers": "128MB",
}
"""Server settings for a disposable server: fast, and unsafe across a machine crash."""

_STARTUP_TIMEOUT_SECS = 60.0
_SHUTDOWN_TIMEOUT_SECS = 30.0
_PORT_ATTEMPTS = 3


class PostgresBinariesNotFoundError(RuntimeError):
    """No PostgreSQL server binaries (initdb, postgres) were found on this machine."""


class PostgresServerError(RuntimeError):
    """The throwaway server could not be initialised or started."""


def find_postgres_bindir() -> Path:
    """Return the directory holding `initdb` and `postgres`.

    Looks, in order, at `$OPTIONSCOPE_POSTGRES_BINDIR`, `pg_config --bindir`, the newest
    `/usr/lib/postgresql/<version>/bin` and the directory of `initdb` on `PATH`.

    Raises:
        PostgresBinariesNotFoundError: None of those places has both binaries.
    """
    candidates: list[Path] = []
    if explicit := os.environ.get(BINDIR_VARIABLE):
        candidates.append(Path(explicit))
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            output = subprocess.run(  # noqa: S603 (fixed argument list, no shell)
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout
            candidates.append(Path(output.strip()))
    candidates.extend(
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    )
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in ("initdb", "postgres")):
            return directory
    searched = ", ".join(str(c) for c in candidates) or "nothing"
    raise PostgresBinariesNotFoundError(
        f"no PostgreSQL server binaries (initdb, postgres) found; searched {searched}. "
        f"Install the server package (Debian: postgresql) or set {BINDIR_VARIABLE}."
    )


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class _Account:
    uid: int
    gid: int


def _server_account() -> _Account | None:
    """Return the account to run the server as, or None to run it as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise PostgresServerError(
            f"running as root, and PostgreSQL refuses root, but there is no {SERVER_ACCOUNT!r} "
            "account to run it as (the Debian postgresql package creates it)"
        ) from None
    return _Account(uid=entry.pw_uid, gid=entry.pw_gid)


@dataclass
class LocalPostgresServer:
    """A running throwaway PostgreSQL server; `stop()` ends it and deletes its files.

    Attributes:
        bindir: Directory of the PostgreSQL binaries used.
        base_dir: Temporary directory holding the data directory, socket and log.
        port: TCP port on 127.0.0.1.
        superuser: Role to connect as (trust authentication, no password).
    """

    bindir: Path
    base_dir: Path
    port: int
    superuser: str = "postgres"
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        *,
        bindir: Path | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> LocalPostgresServer:
        """Initialise a cluster in a new temporary directory and start a server on it.

        Args:
            bindir: PostgreSQL binaries; found with `find_postgres_bindir` when None.
            settings: Extra `-c name=value` server settings, applied after `FAST_SETTINGS`.

        Returns:
            The running server. Use it as a context manager or call `stop()`.

        Raises:
            PostgresBinariesNotFoundError: No binaries on this machine.
            PostgresServerError: initdb failed or the server did not come up.
        """
        bindir = bindir or find_postgres_bindir()
        account = _server_account()
        base_dir = Path(tempfile.mkdtemp(prefix="optionscope-postgres-"))
        server = cls(bindir=bindir, base_dir=base_dir, port=0)
        try:
            if account is not None:
                os.chown(base_dir, account.uid, account.gid)
            server._run_initdb(account)
            server._launch({**FAST_SETTINGS, **(settings or {})}, account)
        except BaseException:
            server.stop()
            raise
        atexit.register(server.stop)
        return server

    @property
    def data_dir(self) -> Path:
        """Return the cluster's data directory."""
        return self.base_dir / "data"

    @property
    def log_path(self) -> Path:
        """Return the server log file."""
        return self.base_dir / "server.log"

    def url(self, database: str = "postgres") -> str:
        """Return a `postgresql://` URL for `database` on this server."""
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Shut the server down (fast mode) and delete its directory; safe to call twice."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # SIGINT is PostgreSQL's "fast" shutdown.
            try:
                process.wait(timeout=_SHUTDOWN_TIMEOUT_SECS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> LocalPostgresServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run_initdb(self, account: _Account | None) -> None:
        command = [
            str(self.bindir / "initdb"),
            "--pgdata", str(self.data_dir),
            "--username", self.superuser,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",
            "--no-sync",
            "--no-instructions",
        ]  # fmt: skip
        completed = subprocess.run(  # noqa: S603 (fixed argument list, no shell)
            command,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.base_dir,
            user=account.uid if account else None,
            group=account.gid if account else None,
            extra_groups=[] if account else None,
        )
        if completed.returncode != 0:
            raise PostgresServerError(
                f"initdb failed ({completed.returncode}): {completed.stderr.strip()}"
            )

    def _launch(self, settings: Mapping[str, str], account: _Account | None) -> None:
        for _ in range(_PORT_ATTEMPTS):
            self.port = _free_port()
            command = [
                str(self.bindir / "postgres"),
                "-D", str(self.data_dir),
                "-p", str(self.port),
                "-k", str(self.base_dir),
                "-c", "listen_addresses=127.0.0.1",
            ]  # fmt: skip
            for name, value in settings.items():
                command += ["-c", f"{name}={value}"]
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(  # noqa: S603 (fixed argument list, no shell)
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.base_dir,
                    start_new_session=True,  # a terminal's Ctrl-C must not stop it early
                    user=account.uid if account else None,
                    group=account.gid if account else None,
                    extra_groups=[] if account else None,
                )
            if self._wait_until_ready():
                return
            if "could not bind" not in self._log_tail():
                break
        raise PostgresServerError(f"the server did not start; its log ends:\n{self._log_tail()}")

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECS
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        return False

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
