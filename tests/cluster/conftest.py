"""Fixtures of the cluster tests: a fresh shared backend per test, and its worker processes.

The server fixtures (``postgresql_url``, ``mysql_url``, ``redis_options``) are the job store
tests' own, so these tests skip without a server, and fail instead under
``QUARTZITE_REQUIRE_SERVICES=1``, exactly like those.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from jobstores.conftest import mysql_url, postgresql_url, redis_options, unique_name

from .harness import Backend, Ledger, Workers

__all__ = ["mysql_url", "postgresql_url", "redis_options"]  # re-exported fixtures


@pytest.fixture
def make_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[str], Backend]]:
    """``make_backend(kind)``: a fresh table (or Redis key prefix) of that kind, removed after
    the test."""
    made: list[Backend] = []

    def make(kind: str) -> Backend:
        name = unique_name("qzc")
        if kind == "sqlite_file":
            backend = Backend(kind, url=f"sqlite:///{tmp_path / name}.sqlite", table=name)
        elif kind == "postgresql":
            backend = Backend(kind, url=request.getfixturevalue("postgresql_url"), table=name)
        elif kind == "mariadb":
            backend = Backend(kind, url=request.getfixturevalue("mysql_url"), table=name)
        elif kind == "redis":
            options = request.getfixturevalue("redis_options")
            backend = Backend(kind, host=options["host"], port=options["port"], prefix=name)
        else:  # pragma: no cover
            raise ValueError(kind)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.cleanup()


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """The file the test's processes append their lines to."""
    return Ledger(tmp_path / "ledger.txt")


@pytest.fixture
def make_workers(tmp_path: Path, ledger: Ledger) -> Iterator[Callable[..., Workers]]:
    """``make_workers(backend, *worker_options)``: a :class:`Workers` whose processes are ended
    after the test, whatever happened."""
    made: list[Workers] = []

    def make(backend: Backend, *options: str) -> Workers:
        workers = Workers(backend, ledger, tmp_path, *options)
        made.append(workers)
        return workers

    yield make
    for workers in made:
        workers.kill_all()
