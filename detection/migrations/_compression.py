"""Column compression settings for migrations (a leading underscore: Django does not load it as
a migration). Kept here, not in the app's code, so that the migrations using it do not
change when the code does."""

from django.db import DatabaseError, transaction


def lz4(schema_editor, table: str, column: str) -> None:
    """Compress the column's new values with lz4 (PostgreSQL 14+ built with lz4); elsewhere
    the default (pglz) stays, only slower. table, column: quoted."""
    try:
        with transaction.atomic(using=schema_editor.connection.alias):  # a savepoint
            schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")
    except DatabaseError:
        pass  # PostgreSQL < 14, or built without lz4


def default(schema_editor, table: str, column: str) -> None:
    if schema_editor.connection.pg_version >= 140000:
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION DEFAULT")
