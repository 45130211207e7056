"""The HTTP service: create_app, the system's routes and the control plane."""

import csv
import io
import itertools
import time
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from prakerja.common.timeutil import WIB
from prakerja.integrations.bank.client import ACCOUNT_TYPES, MAX_BATCH
from prakerja.integrations.bank.sandbox.app import (
    BankConfig,
    BankSandboxApp,
    institution_account_type,
)
from prakerja.integrations.bank.sandbox.books import Bank
from prakerja.integrations.bank.sandbox.callbacks import CallbackSender, Notifier, SignedPoster
from prakerja.integrations.bank.sandbox.faults import BankFaults, drawn_share
from prakerja.integrations.bank.sandbox.page import page_html
from prakerja.integrations.bank.sandbox.parsing import (
    account_read,
    batch_totals_problem,
    error_response,
    instruction_read,
    invalid,
    json_object,
)
from prakerja.integrations.bank.sandbox.records import (
    ACCOUNT_PATTERN,
    ID_PATTERN,
    ID_RULE,
    NIK_PATTERN,
    STATEMENT_HEADER,
    Instruction,
)
from prakerja.integrations.sandbox import Request, Response


def create_app(config: BankConfig, faults: BankFaults | None = None) -> BankSandboxApp:
    bank = Bank(
        config.name, config.account_type or institution_account_type(config.name), config.seed
    )
    poster = None
    if config.secret:
        poster = SignedPoster(
            config.system_url,
            config.partner or config.name,
            config.secret,
            config.callback_timeout_s,
        )
    app = BankSandboxApp(config.name, bank, CallbackSender(poster, config.callback_workers))
    app.set_bank_faults(faults or BankFaults())
    _system_routes(app, Notifier(config.seed, app.sender))
    _control_routes(app)
    return app


def _system_routes(app: BankSandboxApp, notifier: Notifier) -> None:
    bank = app.bank

    @app.route("POST", "/account-inquiry")
    def inquiry(request: Request) -> Response:
        data = json_object(request)
        if data is None:
            return invalid({"body": "must be a JSON object"})
        errors = {}
        if data.get("account_type") not in ACCOUNT_TYPES:
            errors["account_type"] = f"one of {', '.join(ACCOUNT_TYPES)}"
        number, nik = data.get("account_number"), data.get("nik")
        if not isinstance(number, str) or not ACCOUNT_PATTERN.match(number):
            errors["account_number"] = "1 to 64 characters without spaces or '/'"
        if not isinstance(nik, str) or not NIK_PATTERN.match(nik):
            errors["nik"] = "16 digits"
        if errors:
            return invalid(errors)
        answer = bank.inquire(str(data["account_type"]), str(number), str(nik))
        if answer is None:
            return error_response(404, "ACCOUNT_NOT_FOUND", "no such account at this institution")
        return Response.json(answer)

    @app.route("POST", "/transfers")
    def transfer(request: Request) -> Response:
        errors: dict[str, str] = {}
        item = instruction_read(json_object(request), "", errors)
        if item is None:
            return invalid(errors)
        faults, now = app.bank_faults, app.now()
        transfer, created = bank.transfer(item, faults, now)
        if transfer is None:
            return _reused(item.instruction_id)
        first_async = created and transfer.accepted_first
        if first_async:
            notifier.transfers([transfer], faults)
        if created and _loses_answer(bank.seed, item.instruction_id, faults):
            return _lost_answer(faults)
        return Response.json(transfer.accepted() if first_async else transfer.answer(now))

    @app.route("POST", "/transfer-batches")
    def transfer_batch(request: Request) -> Response:
        data = json_object(request)
        if data is None:
            return invalid({"body": "must be a JSON object"})
        parsed = _batch(data)
        if isinstance(parsed, Response):
            return parsed
        batch_id, items = parsed
        faults = app.bank_faults
        record, new, created = bank.batch(batch_id, items, faults, app.now())
        if record is None:
            return error_response(
                409, "BATCH_ID_REUSED", "this batch id came before with other instructions"
            )
        if faults.callback_batch:
            notifier.batch(batch_id, new, faults)
        else:
            notifier.transfers(new, faults)
        if created and _loses_answer(bank.seed, batch_id, faults):
            return _lost_answer(faults)
        return Response.json(record.answer)

    @app.route("GET", "/transfers/{instruction_id}")
    def transfer_status(request: Request) -> Response:
        found = bank.status(request.params["instruction_id"])
        if found is None:
            return error_response(404, "TRANSFER_NOT_FOUND", "this institution never received it")
        return Response.json(found.answer(app.now()))

    @app.route("GET", "/transfer-batches/{batch_id}")
    def batch_results(request: Request) -> Response:
        batch_id = request.params["batch_id"]
        results = bank.batch_results(batch_id, app.now())
        if results is None:
            return error_response(404, "BATCH_NOT_FOUND", "this institution never received it")
        return Response.json({"batch_id": batch_id, "results": results})

    @app.route("GET", "/statements/{day}")
    def statement(request: Request) -> Response:
        day, as_csv = request.params["day"], False
        if day.endswith(".csv"):
            day, as_csv = day[:-4], True
        try:
            day = date.fromisoformat(day).isoformat()
        except ValueError:
            return invalid({"date": "yyyy-mm-dd"})
        lines = [
            (t.instruction_id, t.amount_idr, t.outcome, t.partner_reference)
            for t in bank.statement(day, app.now())
        ]
        if as_csv:
            return Response(200, _csv(lines).encode(), "text/csv; charset=utf-8")
        rows = [dict(zip(STATEMENT_HEADER, line, strict=True)) for line in lines]
        return Response.json({"statement_date": day, "lines": rows})


def _batch(data: dict[str, Any]) -> tuple[str, list[Instruction]] | Response:
    """The batch id and instructions, or the answer refusing the batch whole."""
    batch_id, raw = data.get("batch_id"), data.get("instructions")
    if not isinstance(batch_id, str) or not ID_PATTERN.match(batch_id):
        return invalid({"batch_id": ID_RULE})
    if not isinstance(raw, list) or not raw:
        return invalid({"instructions": "a list of at least one instruction"})
    if len(raw) > MAX_BATCH:
        return error_response(
            422,
            "CONTROL_TOTALS_MISMATCH",
            f"a batch holds at most {MAX_BATCH} instructions",
            {"max_instructions": MAX_BATCH, "counted": len(raw)},
        )
    errors: dict[str, str] = {}
    items = [instruction_read(one, f"instructions[{n}].", errors) for n, one in enumerate(raw)]
    if errors:
        return invalid(dict(itertools.islice(errors.items(), 20)))
    instructions = [item for item in items if item is not None]
    problem = batch_totals_problem(data, instructions)
    if problem is not None:
        return error_response(
            422,
            "CONTROL_TOTALS_MISMATCH",
            "control_count and control_sum_idr do not match the instructions",
            problem,
        )
    return batch_id, instructions


def _reused(instruction_id: str) -> Response:
    return error_response(
        409,
        "INSTRUCTION_ID_REUSED",
        "this instruction id came before with another account or amount",
        {"instruction_id": instruction_id},
    )


def _loses_answer(seed: int, key: str, faults: BankFaults) -> bool:
    """Only a first receipt loses its answer: a re-send must be able to learn the outcome."""
    return (
        bool(faults.lost_answer_rate)
        and drawn_share(seed, "lost_answer", key) < faults.lost_answer_rate
    )


def _lost_answer(faults: BankFaults) -> Response:
    """The transfer is recorded, but its answer never comes: the caller's timeout fires first."""
    time.sleep(faults.hang_s)
    return error_response(504, "GATEWAY_TIMEOUT", "the answer was lost (sandbox lost_answer fault)")


def _csv(lines: list[tuple[str, int, str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(STATEMENT_HEADER)
    writer.writerows(lines)
    return out.getvalue()


def _control_routes(app: BankSandboxApp) -> None:
    bank, control = app.bank, app.control

    @control.route("GET", "/_bank_faults")
    def show_faults(request: Request) -> Response:
        return Response.json(asdict(app.bank_faults))

    @control.route("POST", "/_bank_faults")
    def set_faults(request: Request) -> Response:
        data = json_object(request)
        if data is None:
            return Response.json({"error": "body must be a JSON object"}, 400)
        try:
            app.set_bank_faults(app.bank_faults.updated(data))
        except ValueError as problem:
            return Response.json({"error": str(problem)}, 400)
        return Response.json(asdict(app.bank_faults))

    @control.route("POST", "/_accounts")
    def add_accounts(request: Request) -> Response:
        data = json_object(request)
        raw = data.get("accounts") if data else None
        if not isinstance(raw, list):
            return invalid({"accounts": "a list of accounts"})
        errors: dict[str, str] = {}
        accounts = [
            account_read(one, f"accounts[{n}].", bank.account_type, errors)
            for n, one in enumerate(raw)
        ]
        if errors:
            return invalid(dict(itertools.islice(errors.items(), 20)))
        total = bank.add_accounts([a for a in accounts if a is not None])
        return Response.json({"received": len(raw), "accounts": total})

    @control.route("GET", "/_accounts/{account_number}")
    def show_account(request: Request) -> Response:
        account = bank.account(request.params["account_number"])
        if account is None:
            return error_response(404, "ACCOUNT_NOT_FOUND", "no such account at this institution")
        return Response.json(asdict(account))

    @control.route("GET", "/_totals")
    def totals(request: Request) -> Response:
        return Response.json(bank.totals(app.now()))

    @control.route("GET", "/_clock")
    def show_clock(request: Request) -> Response:
        return Response.json(_clock(app))

    @control.route("POST", "/_clock")
    def set_clock(request: Request) -> Response:
        data = json_object(request) or {}
        try:
            moment = datetime.fromisoformat(str(data.get("now")))
        except ValueError:
            return invalid({"now": "an ISO 8601 time with its offset"})
        if moment.tzinfo is None:
            return invalid({"now": "an ISO 8601 time with its offset"})
        app.clock_offset_s = moment.timestamp() - time.time()
        return Response.json(_clock(app))

    @control.route("GET", "/_callbacks")
    def callbacks(request: Request) -> Response:
        return Response.json(app.sender.snapshot())

    @control.route("POST", "/_reset")
    def reset(request: Request) -> Response:
        data = json_object(request) or {}
        bank.reset(accounts=data.get("accounts") is True)
        app.sender.reset()
        app.clock_offset_s = 0.0
        return Response.json({"reset": True})

    @control.route("GET", "/")
    def page(request: Request) -> Response:
        return Response.html(page_html(app))


def _clock(app: BankSandboxApp) -> dict[str, Any]:
    return {
        "now": datetime.fromtimestamp(app.now(), WIB).isoformat(timespec="seconds"),
        "offset_s": round(app.clock_offset_s, 3),
    }
