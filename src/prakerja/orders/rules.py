"""The rule of the times a platform reports (partner-api.md, "Conventions"): `completed_at`,
`reported_at` and `updated_since` are compared with the system's own times at one-second precision,
and a time before the voucher's redemption second (completion and progress) or more than five
minutes ahead of the server clock is refused. Written once, as pure functions, for the per-order
services (orders/services.py), their set-based twins (orders/bulk.py) and the orders list.

Why whole seconds: the system stores its times to the microsecond, a platform writes RFC 3339 to the
second (partner-api.md's own examples do). Compared to the microsecond, a completion reported in the
same second as the redemption, in whole seconds, came "before" it (10:00:05 < 10:00:05.48).

Why 409 and not 422: a time's relation to the server clock or to the redemption is not something a
JSON schema can state, and every 422 of the partner API is a refusal its schema describes (a client
that validates against the schema knows which bodies are well formed; a body can be well formed and
still not fit the order's state, which is what 409 says)."""

import datetime

from prakerja.common.errors import Conflict
from prakerja.common.timeutil import WIB

# The same five minutes as X-TIMESTAMP's allowed skew (partners/auth.py), for the same clocks.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)

BEFORE_REDEMPTION = "BEFORE_REDEMPTION"
IN_THE_FUTURE = "IN_THE_FUTURE"


class TimeOutOfRange(Conflict):
    """A reported time that is well formed but cannot be true of the order: before its redemption
    second or more than five minutes ahead of the server clock. `details` names the field with
    BEFORE_REDEMPTION or IN_THE_FUTURE and gives the time it was compared with (`redeemed_at` or
    `server_time`, in WIB to the second)."""

    code = "TIME_OUT_OF_RANGE"
    message_id = (
        "Waktu yang dilaporkan tidak mungkin: sebelum voucher ditukar atau lebih dari 5 menit "
        "setelah jam server. Lihat `details`."
    )
    message_en = (
        "The reported time cannot be right: before the voucher was redeemed or more than 5 minutes "
        "ahead of the server clock. See `details`."
    )


def whole_second(moment: datetime.datetime) -> datetime.datetime:
    """The second a time falls in, in UTC (offsets are whole minutes, so the second is the same in
    every zone)."""
    return moment.astimezone(datetime.UTC).replace(microsecond=0)


def reported_time_problem(
    moment: datetime.datetime,
    *,
    now: datetime.datetime,
    redeemed_at: datetime.datetime | None = None,
) -> str | None:
    """BEFORE_REDEMPTION, IN_THE_FUTURE, or None for a time the system accepts. `moment` and the
    others are aware times; `redeemed_at` is None where no redemption bounds the time (the orders
    list's `updated_since`)."""
    second = whole_second(moment)
    if redeemed_at is not None and second < whole_second(redeemed_at):
        return BEFORE_REDEMPTION
    if second > whole_second(now) + FUTURE_TOLERANCE:
        return IN_THE_FUTURE
    return None


def _shown(moment: datetime.datetime) -> str:
    return whole_second(moment).astimezone(WIB).isoformat()


def reported_time_refusal(
    field: str,
    moment: datetime.datetime,
    *,
    now: datetime.datetime,
    redeemed_at: datetime.datetime | None = None,
) -> TimeOutOfRange | None:
    """The refusal of a reported time (TIME_OUT_OF_RANGE naming `field`), or None when it is
    accepted. The details give the second it was compared with, as the partner API writes times."""
    problem = reported_time_problem(moment, now=now, redeemed_at=redeemed_at)
    if problem is None:
        return None
    if problem == BEFORE_REDEMPTION:
        assert redeemed_at is not None
        return TimeOutOfRange(details={field: problem, "redeemed_at": _shown(redeemed_at)})
    return TimeOutOfRange(details={field: problem, "server_time": _shown(now)})
