"""Statements on many rows at once for the SQL store: one round trip per batch where it counts.

A claim of 500 jobs updates 500 job rows and inserts 500 run records; a batch of outcomes
updates as many records. ``executemany`` is fine where the driver makes it cheap (SQLite runs
in-process; PyMySQL folds inserts into one multi-row ``INSERT``), but through psycopg 3 each
row of an ``executemany`` is still one statement to bind, send and read back (pipelined), which
costs tens of microseconds of Python per row. On PostgreSQL the helpers here send each column as
one array parameter instead and let the server unpack them (``unnest``): one statement whatever
the number of rows, and no per-row work in the driver. ``IN`` lists become ``= ANY(array)``
likewise, so a 500-id lookup is one parameter rather than 500 to render and bind. Through
psycopg 3 the arrays travel in binary (see :class:`_BinaryList`): in text, an array of 500
serialized jobs would be escaped byte by byte, which costs more than the round trip it saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import any_, bindparam, cast, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import NullType

from ._sql_schema import chunks

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql import ColumnElement

__all__ = ("delete_by_key", "insert_rows", "matching", "unnested", "update_by_key")


def _is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


class _BinaryList(list[Any]):
    """A list psycopg 3 sends as an array in binary format (registered below for this class
    only: no other value, and no connection of anybody else's, changes how it is sent)."""


try:
    import psycopg
    from psycopg.types.array import ListBinaryDumper
except ImportError:  # pragma: no cover - another PostgreSQL driver
    pass
else:
    psycopg.adapters.register_dumper(_BinaryList, ListBinaryDumper)


def _array(conn: Connection, values: list[Any], item_type: Any) -> Any:
    """``CAST(:values AS <item_type>[])``; the list is handed to the driver as it is (no
    per-item processing by SQLAlchemy), in binary through psycopg 3."""
    if conn.dialect.driver == "psycopg":
        values = _BinaryList(values)
    return cast(bindparam(None, values, type_=NullType(), unique=True), ARRAY(item_type))


def matching(conn: Connection, column: Any, values: Sequence[Any]) -> list[ColumnElement[bool]]:
    """Criteria that together select the rows whose ``column`` is one of ``values``: one
    ``= ANY(array)`` on PostgreSQL, else one ``IN (...)`` per chunk (run one statement each)."""
    if not values:
        return []
    if _is_postgresql(conn):
        return [column == any_(_array(conn, list(values), column.type))]
    return [column.in_(chunk) for chunk in chunks(values)]


def unnested(
    conn: Connection, table: Table, names: Sequence[str], rows: Sequence[dict[str, Any]]
) -> Any:
    """``unnest(CAST(:a AS type[]), ...) AS v(name, ...)``: ``rows`` as a PostgreSQL table."""
    arrays = [_array(conn, [row[name] for row in rows], table.c[name].type) for name in names]
    return func.unnest(*arrays).table_valued(*names).render_derived(name="v")


def _split_constant(
    table: Table, names: Sequence[str], rows: Sequence[dict[str, Any]]
) -> tuple[list[str], dict[str, Any]]:
    """The columns of ``names`` that vary between ``rows``, and the others as typed single
    parameters (a claim writes one status and one scheduler id on all its records: sending
    them once spares the driver an array of 500 copies to escape)."""
    varying: list[str] = []
    constant: dict[str, Any] = {}
    first = rows[0]
    for name in names:
        value = first[name]
        if len(rows) > 1 and all(row[name] == value for row in rows):
            constant[name] = cast(bindparam(None, value, unique=True), table.c[name].type)
        else:
            varying.append(name)
    return varying, constant


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in one statement on PostgreSQL
    (``INSERT ... SELECT FROM unnest``), with ``executemany`` elsewhere."""
    if not rows:
        return
    if not _is_postgresql(conn):
        conn.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    varying, constant = _split_constant(table, names, rows)
    source = unnested(conn, table, varying, rows)
    columns = [constant[name] if name in constant else source.c[name] for name in names]
    conn.execute(insert(table).from_select(names, select(*columns)))


def update_by_key(
    conn: Connection,
    table: Table,
    key: Sequence[str],
    rows: Sequence[dict[str, Any]],
    *,
    where: Sequence[Any] = (),
    fixed: dict[str, Any] | None = None,
) -> None:
    """For each of ``rows``, set its non-key columns on the row whose ``key`` columns match
    (and that meets ``where``); ``fixed`` sets the same value everywhere.

    Every row has the same keys. One ``UPDATE ... FROM unnest(...)`` on PostgreSQL, an
    ``executemany`` elsewhere.
    """
    if not rows:
        return
    names = list(rows[0])
    values = [name for name in names if name not in key]
    if _is_postgresql(conn):
        varying, constant = _split_constant(table, values, rows)
        source = unnested(conn, table, [*key, *varying], rows)
        statement = (
            update(table)
            .where(*(table.c[name] == source.c[name] for name in key), *where)
            .values({**{name: source.c[name] for name in varying}, **constant, **(fixed or {})})
        )
        conn.execute(statement)
        return
    statement = (
        update(table)
        .where(*(table.c[name] == bindparam(f"k_{name}") for name in key), *where)
        .values({**{name: bindparam(f"v_{name}") for name in values}, **(fixed or {})})
    )
    parameters = [
        {f"{'k' if name in key else 'v'}_{name}": row[name] for name in names} for row in rows
    ]
    conn.execute(statement, parameters)


def delete_by_key(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    where: Sequence[Any] = (),
    at_most: str | None = None,
) -> None:
    """Delete the rows whose columns equal those of one of ``rows`` (and that meet ``where``);
    the column named ``at_most`` matches values up to the given one instead of equal ones.

    One ``DELETE ... USING unnest(...)`` on PostgreSQL, an ``executemany`` elsewhere.
    """
    if not rows:
        return
    names = list(rows[0])

    def compare(name: str, other: Any) -> Any:
        return table.c[name] <= other if name == at_most else table.c[name] == other

    if _is_postgresql(conn):
        source = unnested(conn, table, names, rows)
        criteria = [compare(name, source.c[name]) for name in names]
        conn.execute(delete(table).where(*criteria, *where))
        return
    criteria = [compare(name, bindparam(f"k_{name}")) for name in names]
    conn.execute(
        delete(table).where(*criteria, *where),
        [{f"k_{name}": row[name] for name in names} for row in rows],
    )
