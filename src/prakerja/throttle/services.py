"""Fixed-window rate limits kept in the database, so every web process and worker shares them.

One statement per hit: an upsert that increments the window's counter and returns it. Works the same
on PostgreSQL and SQLite (both have INSERT … ON CONFLICT … RETURNING).
"""

import datetime
from dataclasses import dataclass

from django.db import connection

from prakerja.common import clock
from prakerja.common.errors import ApplicationError
from prakerja.throttle.models import Counter


class RateLimited(ApplicationError):
    code = "RATE_LIMITED"
    http_status = 429
    message_id = "Terlalu banyak percobaan. Coba lagi dalam {minutes} menit."
    message_en = "Too many attempts. Try again in {minutes} minutes."


@dataclass(frozen=True)
class Limit:
    """At most `hits` per `seconds` for one key."""

    hits: int
    seconds: int


def throttle_hit(*, key: str, limit: Limit, now: datetime.datetime | None = None) -> None:
    """Count one attempt; raise RateLimited (with `retry_after_s` in details) once over the limit."""
    moment = now or clock.now()
    epoch = int(moment.timestamp())
    window_start = datetime.datetime.fromtimestamp(epoch - epoch % limit.seconds, tz=datetime.UTC)
    table = Counter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, window_start, hits) VALUES (%s, %s, 1) "  # noqa: S608
            "ON CONFLICT (key, window_start) DO UPDATE SET hits = "
            f"{table}.hits + 1 RETURNING hits",
            [
                key,
                connection.ops.adapt_datetimefield_value(window_start),
            ],
        )
        hits = cursor.fetchone()[0]
    if hits > limit.hits:
        retry_after = int((window_start.timestamp() + limit.seconds) - moment.timestamp()) + 1
        raise RateLimited(
            details={"retry_after_s": retry_after}, minutes=max(1, (retry_after + 59) // 60)
        )


def throttle_count(*, key: str, limit: Limit, now: datetime.datetime | None = None) -> int:
    """Hits so far in the current window, without counting one."""
    moment = now or clock.now()
    epoch = int(moment.timestamp())
    window_start = datetime.datetime.fromtimestamp(epoch - epoch % limit.seconds, tz=datetime.UTC)
    row = Counter.objects.filter(key=key, window_start=window_start).values_list("hits", flat=True)
    return row.first() or 0


def throttle_prune(*, older_than: datetime.timedelta = datetime.timedelta(days=2)) -> int:
    deleted, _ = Counter.objects.filter(window_start__lt=clock.now() - older_than).delete()
    return deleted
