"""SQLAlchemy 2 ORM: a declarative class is mapped when it is created: its
``mapped_column()`` statements become ``Column`` objects of its ``Table`` (defaults,
types, constraints), instrumented attributes replace them in the class, and the
``Mapper`` is configured from them; the database has the table as it was created.

Methods, hybrid properties (both sides) and ``@validates`` bodies are patched in place
by the engine (the mapper holds the same functions). A change to the class's columns,
table arguments or mapper arguments cannot be re-derived live: running the class
statement again would map a second class to the same table (and patching the statement
in place would leave a raw ``MappedColumn`` where the instrumented attribute was, so
new rows would carry it and queries on the column would fail to compile). Such an edit
is refused with an UpdateError naming the class, and nothing changes."""

from __future__ import annotations

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoInspectionAvailable

from .._safe import is_a
from . import Adapter


class SQLAlchemyAdapter(Adapter):
    module = "sqlalchemy"
    name = "SQLAlchemy"

    def generated(self, cls: type) -> bool:
        if not is_a(cls, type) or "__mapper__" not in getattr(cls, "__dict__", {}):
            return False
        try:
            return sa_inspect(cls, raiseerr=False) is not None
        except NoInspectionAvailable:
            return False

    def refuse(self, cls: type) -> str | None:
        table = getattr(cls, "__table__", None)
        name = getattr(table, "name", "?")
        return (f"its mapping changed (columns, defaults, table or mapper arguments of "
                f"table {name!r}); the Mapper and Table derived when the class was created "
                "cannot be re-derived in a running program")


ADAPTER = SQLAlchemyAdapter()
