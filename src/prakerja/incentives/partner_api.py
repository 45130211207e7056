"""The partner API's calls for financial institutions (partner-api.md, "Financial institutions"):
transfer results (one, or a batch's at once — an addition to v1), and daily statements.
Institutions only (403 PARTNER_KIND_NOT_ALLOWED for platforms); every POST is idempotent by
X-EXTERNAL-ID, and a repeated or late result for a settled instruction changes nothing (200).

Registered by prakerja.partners.api (import that module, not this one, to get the whole API)."""

import datetime
import re
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Router, Schema
from pydantic import AfterValidator, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError

from prakerja.common.actors import Actor
from prakerja.common.api_types import Day
from prakerja.incentives.errors import BatchNotFound, TransferNotFound
from prakerja.incentives.models import TransferBatch
from prakerja.incentives.reconciliation import Line, statement_reconcile
from prakerja.incentives.results import Outcome, transfer_outcomes_record
from prakerja.partners.api import answer_once, caller, errors
from prakerja.partners.fields import Moment, OptionalLine, Whole
from prakerja.partners.models import Partner, PartnerKind

transfers_router: Router = Router(tags=["transfers"])
batches_router: Router = Router(tags=["transfers"])
statements_router: Router = Router(tags=["statements"])

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
# An instruction's id in a body: the pattern is the whole rule (it admits nothing the text policy
# refuses), refused as CHARACTER_INVALID.
InstructionId = Annotated[str, Strict(), Field(pattern=ID_PATTERN)]
REASON = Literal[
    "NIK_MISMATCH",
    "NOT_UPGRADED",
    "ACCOUNT_INACTIVE",
    "ACCOUNT_NOT_FOUND",
    "LIMIT_REACHED",
    "PHONE_CHANGED",
    "TEMPORARY_FAILURE",
    "",
]
MAX_LINES = 100_000
FIRST_DAY, LAST_DAY = datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)
_ID = re.compile(ID_PATTERN)


class ResultIn(Schema):
    status: Literal["success", "failed"]
    reason_code: REASON | None = Field(
        default=None, description="Why it failed (partner-api.md's reason codes); empty on success."
    )
    settled_at: Moment = Field(
        description="When the transfer succeeded or failed: RFC 3339 with an offset."
    )
    partner_reference: OptionalLine = Field(default="", max_length=100)


class BatchResultIn(ResultIn):
    instruction_id: InstructionId


class BatchResultsIn(Schema):
    results: list[BatchResultIn] = Field(min_length=1, max_length=1_000)


class RecordedOut(Schema):
    paid: int = Field(description="Results recorded as paid by this call.")
    failed: int = Field(description="Results recorded as failed by this call.")
    already_settled: int = Field(description="Repeated or late results: nothing changed.")


class StatementLineIn(Schema):
    instruction_id: InstructionId
    amount_idr: Whole = Field(gt=0, le=2**63 - 1)
    status: Literal["success", "failed"]
    partner_reference: OptionalLine = Field(default="", max_length=100)


def _plausible_day(value: datetime.date) -> datetime.date:
    """A statement is of a day of the program's life; a date at the calendar's edge has no next
    day to bound it."""
    if not FIRST_DAY <= value <= LAST_DAY:
        raise PydanticCustomError("out_of_range", "the date is outside the program's years")
    return value


# The years a statement may be of, said to a schema reader too: `format: date` checks the calendar,
# the pattern the years.
STATEMENT_DAY_PATTERN = r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}$"


class StatementIn(Schema):
    statement_date: Annotated[
        Day,
        AfterValidator(_plausible_day),
        WithJsonSchema({"type": "string", "format": "date", "pattern": STATEMENT_DAY_PATTERN}),
    ] = Field(description="The day (WIB) the statement covers, 2000-01-01 to 2099-12-31.")
    lines: list[StatementLineIn] = Field(max_length=MAX_LINES)


class StatementOut(Schema):
    matched: int
    missing_here: int = Field(description="On your statement, not settled here.")
    missing_there: int = Field(description="Settled here that day, not on your statement.")
    amount_mismatch: int
    status_mismatch: int = Field(description="Success on one side, failed on the other.")


def _institution(request: HttpRequest) -> Partner:
    return caller(request, kind=PartnerKind.INSTITUTION)


def _outcome(instruction_id: str, result: ResultIn) -> Outcome:
    return Outcome(
        instruction_id,
        result.status,
        result.reason_code or ("TEMPORARY_FAILURE" if result.status == "failed" else ""),
        result.settled_at,
        result.partner_reference,
    )


RESULT_ERRORS, RESULT_DOCS = errors({404: "`TRANSFER_NOT_FOUND`: not an instruction sent to you."})
BATCH_ERRORS, BATCH_DOCS = errors({404: "`BATCH_NOT_FOUND`: not a batch sent to you."})
STATEMENT_ERRORS, STATEMENT_DOCS = errors()


@transfers_router.post(
    "/{instruction_id}/result",
    response={200: RecordedOut, **RESULT_ERRORS},
    openapi_extra=RESULT_DOCS,
    summary="Report a transfer's result",
    operation_id="transfer_result",
)
def transfer_result(
    request: HttpRequest,
    instruction_id: Path[str],
    payload: ResultIn,
) -> HttpResponse:
    """The result of one instruction. A result for an instruction already settled changes nothing
    and answers 200 (`already_settled`: 1)."""
    institution = _institution(request)

    def work() -> tuple[int, dict[str, Any]]:
        if not _ID.match(instruction_id):
            raise TransferNotFound(details={"instruction_id": instruction_id[:64]})
        recorded = transfer_outcomes_record(
            institution_id=institution.pk,
            outcomes=[_outcome(instruction_id, payload)],
            actor=Actor.partner(institution.pk, institution.code),
        )
        if recorded.unknown:
            raise TransferNotFound(details={"instruction_id": instruction_id})
        return 200, _recorded(recorded)

    return answer_once(request, work)


@batches_router.post(
    "/{batch_id}/results",
    response={200: RecordedOut, **BATCH_ERRORS},
    openapi_extra=BATCH_DOCS,
    summary="Report a batch's results",
    operation_id="transfer_batch_results",
)
def transfer_batch_results(
    request: HttpRequest, batch_id: Path[str], payload: BatchResultsIn
) -> HttpResponse:
    """The results of several instructions of one batch in one call (up to 1.000): the same as
    that many `POST /transfers/{instruction_id}/result` calls. Instructions not in the batch are
    ignored and not counted."""
    institution = _institution(request)

    def work() -> tuple[int, dict[str, Any]]:
        if not _ID.match(batch_id):
            raise BatchNotFound(details={"batch_id": batch_id[:64]})
        batch = TransferBatch.objects.filter(batch_id=batch_id, institution=institution).first()
        if batch is None:
            raise BatchNotFound(details={"batch_id": batch_id})
        mine = set(batch.instructions.values_list("instruction_id", flat=True))
        recorded = transfer_outcomes_record(
            institution_id=institution.pk,
            outcomes=[
                _outcome(r.instruction_id, r) for r in payload.results if r.instruction_id in mine
            ],
            actor=Actor.partner(institution.pk, institution.code),
        )
        return 200, _recorded(recorded)

    return answer_once(request, work)


@statements_router.post(
    "",
    response={200: StatementOut, **STATEMENT_ERRORS},
    openapi_extra=STATEMENT_DOCS,
    summary="Send a daily statement",
    operation_id="statement_send",
)
def statement_send(request: HttpRequest, payload: StatementIn) -> HttpResponse:
    """Your statement of one day's settled transfers, reconciled against the system's records;
    the answer counts each outcome (finance sees the unmatched lines in the console)."""
    institution = _institution(request)

    def work() -> tuple[int, dict[str, Any]]:
        statement = statement_reconcile(
            institution=institution,
            statement_date=payload.statement_date,
            lines=[
                Line(x.instruction_id, x.amount_idr, x.status, x.partner_reference)
                for x in payload.lines
            ],
            source="api",
            actor=Actor.partner(institution.pk, institution.code),
        )
        return 200, {
            "matched": statement.matched,
            "missing_here": statement.missing_here,
            "missing_there": statement.missing_there,
            "amount_mismatch": statement.amount_mismatch,
            "status_mismatch": statement.items.filter(outcome="status_mismatch").count(),
        }

    return answer_once(request, work)


def _recorded(recorded: Any) -> dict[str, int]:
    return {
        "paid": recorded.paid,
        "failed": recorded.failed,
        "already_settled": recorded.already_settled,
    }
