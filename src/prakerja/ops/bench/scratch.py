"""A throw-away database for a benchmark: created and migrated before, dropped after, so a bench
never writes into the demo's or production's data."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection


@contextmanager
def scratch_database(*, keep: bool = False) -> Iterator[str]:
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "sqlite":
        name = str(settings.DATA_DIR / f"bench-{os.getpid()}.sqlite3")
    else:
        name = f"prakerja_bench_{os.getpid()}"
    test_settings["NAME"] = name
    old_name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, serialize=False, keepdb=False
    )
    try:
        yield name
    finally:
        if not keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)
