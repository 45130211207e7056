"""Full-text search and the indexes of catalog search (catalog.search), per database.

PostgreSQL: two generated ``tsvector`` columns, invisible to the ORM, each with a GIN index:
``search_vector`` (title, category and description) and ``title_vector`` (the title alone, for the
relevance order). The ``simple`` configuration, stripped of positions (nothing ranks by them), so
the rows stay narrow. A later migration that changes the type of ``title``, ``category`` or
``description`` must drop these columns first and add them back (PostgreSQL refuses to alter a
column that a generated column reads).

SQLite: an FTS5 table ``catalog_training_fts`` over the same three columns, with the training table
as its external content, kept in step by three triggers. Django rebuilds a SQLite table to alter
it (a new table is copied and renamed), which drops its triggers and the raw indexes below: a later
migration that alters ``catalog_training`` on SQLite must run ``install_sqlite`` of this module
again (tests/catalog/test_search.py checks that the triggers are there after every migration).

Both: indexes for the orders and filters of the search (most bought, price, the offline trainings
of a province with their coordinates, the reviewed trainings for the rating order and the
catalog's mean). Created here rather than in the model because they are partial or covering
and serve one selector; the ORM never needs to know them.
"""

from django.db import migrations


def _indexes(include: bool) -> list[str]:
    """(PostgreSQL keeps the columns an index only carries out of its key: INCLUDE.)"""

    def columns(key: str, carried: str) -> str:
        return f"({key}) INCLUDE ({carried})" if include else f"({key}, {carried})"

    return [
        # Most bought first: popularity, relevance, the second tier of the rating and distance sorts.
        "CREATE INDEX IF NOT EXISTS catalog_training_popular "
        "ON catalog_training (status, buyers DESC, id)",
        "CREATE INDEX IF NOT EXISTS catalog_training_price "
        "ON catalog_training (status, price_idr, id)",
        # The province filter (its regency codes, by IN) and the distance sort, from the index.
        "CREATE INDEX IF NOT EXISTS catalog_training_offline ON catalog_training "
        + columns("status, regency_code", "lat, lon, buyers, id")
        + " WHERE delivery = 'offline'",
        # The rating sort, with the filters it may carry, and the catalog's mean star C.
        "CREATE INDEX IF NOT EXISTS catalog_training_reviewed ON catalog_training "
        + columns(
            "status, rating_count",
            "rating_sum, id, delivery, category, platform_id, price_idr",
        )
        + " WHERE rating_count > 0",
    ]


POSTGRES = [
    "ALTER TABLE catalog_training ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (strip("
    "to_tsvector('simple'::regconfig, title || ' ' || category || ' ' || description))) STORED",
    "ALTER TABLE catalog_training ADD COLUMN title_vector tsvector GENERATED ALWAYS AS (strip("
    "to_tsvector('simple'::regconfig, title))) STORED",
    "CREATE INDEX catalog_training_search ON catalog_training USING gin (search_vector)",
    "CREATE INDEX catalog_training_search_title ON catalog_training USING gin (title_vector)",
]

POSTGRES_UNDO = [
    "DROP INDEX IF EXISTS catalog_training_search_title",
    "DROP INDEX IF EXISTS catalog_training_search",
    "ALTER TABLE catalog_training DROP COLUMN IF EXISTS title_vector",
    "ALTER TABLE catalog_training DROP COLUMN IF EXISTS search_vector",
]

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS catalog_training_fts USING fts5("
    "title, category, description, content='catalog_training', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE TRIGGER IF NOT EXISTS catalog_training_fts_insert AFTER INSERT ON catalog_training "
    "BEGIN INSERT INTO catalog_training_fts(rowid, title, category, description) "
    "VALUES (new.id, new.title, new.category, new.description); END",
    "CREATE TRIGGER IF NOT EXISTS catalog_training_fts_delete AFTER DELETE ON catalog_training "
    "BEGIN INSERT INTO catalog_training_fts(catalog_training_fts, rowid, title, category, "
    "description) VALUES ('delete', old.id, old.title, old.category, old.description); END",
    "CREATE TRIGGER IF NOT EXISTS catalog_training_fts_update "
    "AFTER UPDATE OF title, category, description ON catalog_training "
    "BEGIN INSERT INTO catalog_training_fts(catalog_training_fts, rowid, title, category, "
    "description) VALUES ('delete', old.id, old.title, old.category, old.description); "
    "INSERT INTO catalog_training_fts(rowid, title, category, description) "
    "VALUES (new.id, new.title, new.category, new.description); END",
    # Index whatever is already there (also after a table rebuild lost the triggers).
    "INSERT INTO catalog_training_fts(catalog_training_fts) VALUES ('rebuild')",
]

SQLITE_UNDO = [
    "DROP TRIGGER IF EXISTS catalog_training_fts_insert",
    "DROP TRIGGER IF EXISTS catalog_training_fts_delete",
    "DROP TRIGGER IF EXISTS catalog_training_fts_update",
    "DROP TABLE IF EXISTS catalog_training_fts",
]

SHARED_UNDO = [
    "DROP INDEX IF EXISTS catalog_training_popular",
    "DROP INDEX IF EXISTS catalog_training_price",
    "DROP INDEX IF EXISTS catalog_training_offline",
    "DROP INDEX IF EXISTS catalog_training_reviewed",
]


def install_sqlite(schema_editor) -> None:  # type: ignore[no-untyped-def]
    """The FTS table, its triggers and the shared indexes; safe to run again."""
    for statement in SQLITE + _indexes(include=False):
        schema_editor.execute(statement)


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES + _indexes(include=True):
            schema_editor.execute(statement)
    elif schema_editor.connection.vendor == "sqlite":
        install_sqlite(schema_editor)


def uninstall(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    undo = POSTGRES_UNDO if vendor == "postgresql" else SQLITE_UNDO if vendor == "sqlite" else []
    for statement in undo + SHARED_UNDO:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
