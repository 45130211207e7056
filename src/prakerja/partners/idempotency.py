"""X-EXTERNAL-ID as the idempotency key of a partner's POST/PUT/DELETE (partner-api.md).

The key is claimed by inserting its row first, in the transaction that then does the work and stores
the answer. A second call with the same key waits on that row (PostgreSQL's unique index; SQLite's
write lock), then finds the stored answer and returns it: the work is never done twice, even when
the two calls race. A refused call (an ApplicationError) rolls back its work but keeps its answer
(a 404 or 409 decided on the system's state is the answer to that key), except a malformed request
(422 VALIDATION_FAILED): like one refused by the schema before it reaches `work`, it keeps nothing,
so the partner may correct the body and send it again with the same X-EXTERNAL-ID.

The work runs in the claim's transaction without a savepoint of its own (two round trips fewer on
every call): a refusal rolls the claim back with the work, and the refusal is then stored as the
key's answer in a transaction of its own. Should a call with the same key claim it in between, its
answer is the key's, and this call returns that one, as any later call with the key would.
"""

import datetime
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest

from prakerja.common import clock
from prakerja.common.errors import ApplicationError, IdempotencyKeyReused, ValidationFailed
from prakerja.partners.models import IdempotentCall, Partner

KEEP = datetime.timedelta(hours=24)


def request_fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in ((request.method or "").encode(), request.get_full_path().encode(), request.body):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def idempotent(
    *, request: HttpRequest, partner: Partner, work: Callable[[], tuple[int, Any]]
) -> tuple[int, str]:
    """Run `work` (returning status and a JSON-able body) once per partner and X-EXTERNAL-ID;
    returns the status and the JSON text of the first answer."""
    external_id = request.headers["X-EXTERNAL-ID"]
    fingerprint = request_fingerprint(request)
    try:
        with transaction.atomic(durable=True):
            call = _claimed(partner=partner, external_id=external_id, fingerprint=fingerprint)
            if call.status_code:
                return call.status_code, call.response_body
            try:
                status, body = work()
            except ValidationFailed:
                raise  # rolls back the claim too: the key stays unused
            except ApplicationError as error:
                raise _Refused(error) from error  # rolls back the claim with the work
            call.status_code, call.response_body = status, json.dumps(body, default=str)
            _answer_store(call)
    except _Refused as refused:
        with transaction.atomic(durable=True):
            call = _claimed(partner=partner, external_id=external_id, fingerprint=fingerprint)
            if not call.status_code:
                call.status_code = refused.error.http_status
                call.response_body = json.dumps(refused.error.body("en"), default=str)
                _answer_store(call)
    return call.status_code, call.response_body


class _Refused(Exception):
    """The work refused the call: its answer, kept once the work's transaction is rolled back."""

    def __init__(self, error: ApplicationError) -> None:
        super().__init__(error)
        self.error = error


def _claimed(*, partner: Partner, external_id: str, fingerprint: str) -> IdempotentCall:
    """The key's row, claimed by this call (status 0: answer it) or answered before (its status and
    answer); 409 IDEMPOTENCY_KEY_REUSED when it answered a different request."""
    call = _claim(partner=partner, external_id=external_id, fingerprint=fingerprint)
    if call is not None:
        return call
    call = IdempotentCall.objects.select_for_update().get(partner=partner, external_id=external_id)
    if call.created_at >= clock.now() - KEEP:
        if call.request_hash != fingerprint:
            raise IdempotencyKeyReused(details={"X-EXTERNAL-ID": external_id}) from None
        return call
    # An answer older than 24 hours that the hourly prune has not yet removed: forgotten, the key
    # claimed again (the row is locked, so one call only).
    call.request_hash, call.status_code, call.response_body = fingerprint, 0, ""
    call.created_at = clock.now()
    call.save(update_fields=["request_hash", "status_code", "response_body", "created_at"])
    return call


def _claim(*, partner: Partner, external_id: str, fingerprint: str) -> IdempotentCall | None:
    """Insert the key's row (answer not yet known: status 0, invisible to others until commit);
    None when the key has a row already. ON CONFLICT DO NOTHING rather than a savepoint around an
    INSERT: one statement on the hot path of every partner call. A concurrent call holding the same
    key makes this wait until it commits, then find its row."""
    now = clock.now()
    table = IdempotentCall._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} "  # noqa: S608 (the model's own table name)
            "(partner_id, external_id, request_hash, status_code, response_body, created_at) "
            "VALUES (%s, %s, %s, 0, '', %s) "
            "ON CONFLICT (partner_id, external_id) DO NOTHING RETURNING id",
            [partner.pk, external_id, fingerprint, connection.ops.adapt_datetimefield_value(now)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return IdempotentCall(
        pk=row[0],
        partner=partner,
        external_id=external_id,
        request_hash=fingerprint,
        status_code=0,
        response_body="",
        created_at=now,
    )


def _answer_store(call: IdempotentCall) -> None:
    """The claimed row's answer, by one UPDATE written once (what save(update_fields=…) sends,
    without its Python on the hot path of every partner call)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {IdempotentCall._meta.db_table} "  # noqa: S608 (the model's own table name)
            "SET status_code = %s, response_body = %s WHERE id = %s",
            [call.status_code, call.response_body, call.pk],
        )


def idempotent_calls_prune() -> int:
    """Forget answers older than 24 hours (their keys may then be used again)."""
    deleted, _ = IdempotentCall.objects.filter(created_at__lt=clock.now() - KEEP).delete()
    return deleted
