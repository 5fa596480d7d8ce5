"""Reading the results table past damage: when a damaged page stops a scan, the rest is read chunk by
chunk and then row by row, so one bad page costs only its own rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from zsbench.plugin.errors import ZsbenchError
from zsbench.storage.rows import COLUMNS, BadRow

# A damaged file is salvaged row by row up to this many ids past the damage; beyond, it is an error.
SALVAGE_MAX_ROWS = 5_000_000
SALVAGE_CHUNK = 256


def scan(db: sqlite3.Connection, path: Path, protocol_version: str | None, bad: list[BadRow]) -> Iterator[tuple]:
    """Raw rows of the store at ``path`` by id (those of ``protocol_version``, or all); rows lost to
    damage are recorded in ``bad``. Damage past :data:`SALVAGE_MAX_ROWS` ids is one error saying how
    to recover the file."""
    where, args = ("", ()) if protocol_version is None else (" AND protocol_version = ?", (protocol_version,))
    select = f"SELECT {COLUMNS} FROM results WHERE id > ?"
    last = 0
    try:
        for row in db.execute(f"{select}{where} ORDER BY id", (last, *args)):
            last = row[0]
            yield row
        return
    except sqlite3.DatabaseError as exc:
        damage = exc
    try:
        top = db.execute("SELECT max(id) FROM results").fetchone()[0] or 0
    except sqlite3.DatabaseError:
        top = None
    if not isinstance(top, int) or top - last > SALVAGE_MAX_ROWS:
        raise ZsbenchError(
            f"results store {path} is damaged ({damage}); recover what it holds with "
            f"`sqlite3 {path} .recover`, or pass --store with another file"
        )
    for start in range(last, top, SALVAGE_CHUNK):
        end = min(start + SALVAGE_CHUNK, top)
        try:
            yield from db.execute(f"{select} AND id <= ?{where} ORDER BY id", (start, end, *args)).fetchall()
            continue
        except sqlite3.DatabaseError:
            pass
        for id_ in range(start + 1, end + 1):
            try:
                row = db.execute(f"SELECT {COLUMNS} FROM results WHERE id = ?{where}", (id_, *args)).fetchone()
            except sqlite3.DatabaseError as exc:
                bad.append(BadRow(id_, "row", "unreadable", str(exc)))
                continue
            if row is not None:
                yield row
