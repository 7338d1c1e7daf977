# This file is part of the meter suite.  The COPYRIGHT file at the top level
# of this repository contains the full copyright notices and license terms.
"""Bulk writes of rows the billing computes itself.

A billing run creates and posts tens of thousands of bills with their
meters, usages and lines.  Their values are computed, not typed in, so
they do not need the validation of the ORM, whose per-record cost would
dominate the run.  On PostgreSQL the rows are streamed with COPY (and
updates go through a temporary table); other databases (SQLite for the
demo) get multi-row INSERTs and one UPDATE per row.

Callers check the access rights; these functions only write.
"""
from sql import Column
from sql.functions import CurrentTimestamp

from trytond import backend
from trytond.transaction import Transaction

_CHUNK = 500


def _copy_rows(cursor, table_name, names, rows):
    "Stream rows into the columns names of table_name with COPY"
    columns = ', '.join('"%s"' % n for n in names)
    with cursor.copy(
            f'COPY "{table_name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def _now(cursor):
    "The timestamp the ORM would store as create_date or write_date"
    cursor.execute('SELECT LOCALTIMESTAMP')
    return cursor.fetchone()[0]


def _clear_cache(Model, ids):
    "Forget what the transaction read of the records as the ORM does"
    transaction = Transaction()
    transaction.counter += 1
    for cache in transaction.cache.values():
        if Model.__name__ in cache:
            records = cache[Model.__name__]
            for id_ in ids:
                records.pop(id_, None)


def insert(Model, names, rows, with_ids=False):
    """Insert rows (sequences of the values of names) into the table of
    Model with the current user and time as creator.

    Return the ids of the new rows in the order of rows when with_ids.
    """
    rows = [list(r) for r in rows]
    if not rows:
        return []
    transaction = Transaction()
    database = transaction.database
    cursor = transaction.connection.cursor()
    table = Model.__table__()
    names = list(names) + ['create_uid', 'create_date']
    user = transaction.user
    ids = []
    transaction.counter += 1
    if backend.name == 'postgresql':
        now = _now(cursor)
        if with_ids:
            ids = database.nextid(
                transaction.connection, Model._table, count=len(rows))
            if not isinstance(ids, list):
                ids = [ids]
            names = ['id'] + names
            rows = [[id_] + row for id_, row in zip(ids, rows)]
        _copy_rows(cursor, Model._table, names,
            (row + [user, now] for row in rows))
        return ids
    columns = [Column(table, n) for n in names]
    now = CurrentTimestamp()
    if with_ids:
        for row in rows:
            if database.has_returning():
                cursor.execute(*table.insert(
                        columns, [row + [user, now]], [table.id]))
                id_, = cursor.fetchone()
            else:
                cursor.execute(*table.insert(columns, [row + [user, now]]))
                id_ = database.lastid(cursor)
            ids.append(id_)
        return ids
    for i in range(0, len(rows), _CHUNK):
        cursor.execute(*table.insert(columns, [
                    row + [user, now] for row in rows[i:i + _CHUNK]]))
    return ids


def update(Model, names, rows):
    """Write rows (id followed by the values of names) to the table of
    Model with the current user and time as last writer."""
    rows = [list(r) for r in rows]
    if not rows:
        return
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    table = Model.__table__()
    user = transaction.user
    _clear_cache(Model, [r[0] for r in rows])
    if backend.name == 'postgresql':
        now = _now(cursor)
        temporary = f'{Model._table}_bulk_update'
        selected = ', '.join(['id'] + ['"%s"' % n for n in names])
        cursor.execute(
            f'CREATE TEMPORARY TABLE "{temporary}" ON COMMIT DROP AS '
            f'SELECT {selected} FROM "{Model._table}" WITH NO DATA')
        _copy_rows(cursor, temporary, ['id'] + list(names), rows)
        assignments = ', '.join(
            f'"{n}" = "{temporary}"."{n}"' for n in names)
        cursor.execute(
            f'UPDATE "{Model._table}" SET {assignments}, '
            f'write_uid = %s, write_date = %s FROM "{temporary}" '
            f'WHERE "{Model._table}".id = "{temporary}".id', (user, now))
        cursor.execute(f'DROP TABLE "{temporary}"')
        return
    columns = [Column(table, n) for n in names] + [
        table.write_uid, table.write_date]
    now = CurrentTimestamp()
    for id_, *values in rows:
        cursor.execute(*table.update(
                columns, values + [user, now], where=table.id == id_))


def select(Model, domain, names):
    """Yield the rows (id followed by the columns names) of the records of
    Model matching domain that the user may read, without instantiating
    them: a search browses its result, which costs the square of its size
    (the import of a whole university's accounts)."""
    cursor = Transaction().connection.cursor()
    table = Model.__table__()
    query = Model.search(domain, order=[], query=True)
    cursor.execute(*table.select(table.id,
            *[Column(table, n) for n in names],
            where=table.id.in_(query)))
    yield from cursor
