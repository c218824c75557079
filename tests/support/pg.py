"""A throw-away PostgreSQL cluster for tests and benchmarks (Debian's server binaries).

``throwaway_cluster()`` runs ``initdb`` and ``pg_ctl`` from ``/usr/lib/postgresql/*/bin`` in a
fresh temporary directory, as ``nobody`` when we are root (PostgreSQL refuses to run as root),
listening only on a unix socket in that directory (no TCP port to collide with), and removes
everything afterwards. ``Cluster.new_database()`` gives a SQLAlchemy URL (psycopg 3) to an empty
database. Pytest fixtures: ``pg_cluster`` (session), ``pg_url`` (session, one shared database)
and ``pg_db_url`` (a fresh database per test); the root conftest registers this module as a
plugin. They skip, with the reason, when the binaries are missing.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

USER = "nobody"
PORT = 5432  # only names the socket file: the cluster listens on no TCP address


class ClusterUnavailable(RuntimeError):
    """PostgreSQL's server binaries are missing or the cluster did not start."""


def find_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")
             if (Path(p).parent / "pg_ctl").is_file()]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, default=None)


@dataclass
class Cluster:
    """A running throw-away cluster."""

    bin_dir: Path
    root: Path
    _names: Iterator[int] = field(default_factory=itertools.count)

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={PORT}"

    def new_database(self) -> str:
        """Create an empty database; return its SQLAlchemy URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(host=str(self.socket_dir), port=PORT, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", USER, "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], cwd: Path) -> None:
    done = subprocess.run(_as_user(argv), cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise ClusterUnavailable(f"{Path(argv[0]).name} failed ({done.returncode}): "
                                 f"{(done.stderr or done.stdout).strip()[-800:]}")


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """Start a cluster in a temporary directory; stop it and remove the directory afterwards."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise ClusterUnavailable("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                                 "(apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="ca-pg-"))
    cluster = Cluster(bin_dir, root)
    data, log = root / "data", root / "server.log"
    cluster.socket_dir.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam(USER)
        for path in (root, cluster.socket_dir):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    root.chmod(0o700)
    started = False
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
              "--locale=C", "--no-sync"], root)
        options = (f"-c listen_addresses='' -c unix_socket_directories='{cluster.socket_dir}' -p {PORT} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60",
              "start"], root)
        started = True
        yield cluster
    finally:
        if started:
            _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throw-away cluster for the whole session (skips when PostgreSQL is not installed)."""
    try:
        with throwaway_cluster() as cluster:
            yield cluster
    except ClusterUnavailable as exc:
        pytest.skip(f"no throw-away PostgreSQL: {exc}")


@pytest.fixture(scope="session")
def pg_url(pg_cluster: Cluster) -> str:
    """SQLAlchemy URL of one database shared by the session."""
    return pg_cluster.new_database()


@pytest.fixture()
def pg_db_url(pg_cluster: Cluster) -> str:
    """SQLAlchemy URL of a fresh, empty database for one test."""
    return pg_cluster.new_database()
