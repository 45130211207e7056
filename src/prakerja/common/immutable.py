"""Guards for append-only tables: rows are inserted, never changed or removed through the ORM.

The database adds an UPDATE trigger on the same tables (see each app's migrations), so raw SQL that
edits history fails too. Deletion stays possible only for test-database teardown (flush/TRUNCATE).
"""

from typing import Any, NoReturn

from django.db import migrations, models


class AppendOnlyError(RuntimeError):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only")

    def delete(self) -> NoReturn:
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only")


AppendOnlyManager = models.Manager.from_queryset(AppendOnlyQuerySet)


class AppendOnlyModel(models.Model):
    objects = AppendOnlyManager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only")


def forbid_update_operation(table: str) -> migrations.RunPython:
    """A migration operation adding a trigger, on SQLite or PostgreSQL, that refuses any UPDATE of
    `table` (deletes stay possible so that test databases can be flushed)."""
    forward = {
        "sqlite": (
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
        ),
        "postgresql": (
            "CREATE OR REPLACE FUNCTION prakerja_forbid_update() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only'; END; "
            "$$ LANGUAGE plpgsql; "
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION prakerja_forbid_update();"
        ),
    }
    reverse = {
        "sqlite": f"DROP TRIGGER IF EXISTS {table}_append_only;",
        "postgresql": f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
    }

    def apply(apps: Any, schema_editor: Any) -> None:
        schema_editor.execute(forward[schema_editor.connection.vendor], params=None)

    def unapply(apps: Any, schema_editor: Any) -> None:
        schema_editor.execute(reverse[schema_editor.connection.vendor], params=None)

    return migrations.RunPython(apply, unapply)
