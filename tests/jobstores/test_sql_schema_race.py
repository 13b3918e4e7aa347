"""Many processes starting at once on a fresh database all create the SQL store's tables
without an error (issue 10, "First start of many processes at once").

Each round builds a fresh table name; six processes build a store on it, wait at a barrier and
call ``start()`` at the same moment. Every process must succeed, and the tables must all be
there afterwards. Rounds are repeated, since a race may or may not show in one.
"""

from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from quartzite.jobstores.sqlalchemy import SQLAlchemyJobStore

from .conftest import unique_name

pytestmark = pytest.mark.processes

PROCESSES = 6
ROUNDS = 5


def _start_stores(urls: list[str], tablenames: list[str], barrier: Any, results: Any) -> None:
    """In a child process, for each round: build the store, wait for the others, start it."""
    for url, tablename in zip(urls, tablenames):
        try:
            store = SQLAlchemyJobStore(url, tablename=tablename)
            barrier.wait(timeout=60)
            store.start(None, "default")
            store.shutdown()
            results.put("ok")
        except BaseException:
            results.put(traceback.format_exc())


def _race(urls: list[str], tablenames: list[str]) -> list[str]:
    """Run the rounds in ``PROCESSES`` spawned processes (spawned once: imports are slow)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=_start_stores, args=(urls, tablenames, barrier, results))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in range(PROCESSES * len(urls))]
    for process in processes:
        process.join(timeout=30)
    return outcomes


def _check_and_drop(url: str, tablename: str) -> None:
    store = SQLAlchemyJobStore(url, tablename=tablename)
    try:
        inspector = inspect(store.engine)
        for table in store.tables:
            assert inspector.has_table(table.name), table.name
        for table in reversed(store.tables):
            table.drop(store.engine, checkfirst=True)
    finally:
        store.engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite_file", "postgresql", "mariadb"])
def test_concurrent_first_start_creates_the_tables_once(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if kind == "sqlite_file":
        urls = [f"sqlite:///{tmp_path / f'race{number}.sqlite'}" for number in range(ROUNDS)]
    else:
        url = request.getfixturevalue("postgresql_url" if kind == "postgresql" else "mysql_url")
        urls = [url] * ROUNDS
    tablenames = [unique_name("qzrace") for _ in range(ROUNDS)]
    try:
        outcomes = _race(urls, tablenames)
    finally:
        for url, tablename in zip(urls, tablenames):
            _check_and_drop(url, tablename)
    failures = [outcome for outcome in outcomes if outcome != "ok"]
    assert not failures, f"{len(failures)} of {len(outcomes)} starts failed: {failures[0]}"
