"""Reading the system's requests: bodies, instructions and accounts, each problem named per field."""

from typing import Any

from prakerja.integrations.bank.client import REASON_CODES
from prakerja.integrations.bank.sandbox.records import (
    ACCOUNT_PATTERN,
    ACCOUNT_STATUSES,
    ID_PATTERN,
    ID_RULE,
    KYC_LEVELS,
    MAX_DESCRIPTION,
    NIK_PATTERN,
    Account,
    Instruction,
)
from prakerja.integrations.sandbox import Request, Response


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    return Response.json(
        {"error": {"code": code, "message": message, "details": details or {}}}, status
    )


def invalid(details: dict[str, Any]) -> Response:
    return error_response(422, "VALIDATION_FAILED", "the body is not valid; see details", details)


def json_object(request: Request) -> dict[str, Any] | None:
    try:
        data = request.json()
    except ValueError:  # not JSON, or not UTF-8
        return None
    return data if isinstance(data, dict) else None


def instruction_read(data: Any, where: str, errors: dict[str, str]) -> Instruction | None:
    """The instruction in `data`, or None after adding what is wrong to `errors` (keys prefixed
    with `where`)."""
    if not isinstance(data, dict):
        errors[where.rstrip(".") or "body"] = "must be an object"
        return None
    instruction_id: Any = data.get("instruction_id")
    account: Any = data.get("account_number")
    amount: Any = data.get("amount_idr")
    description: Any = data.get("description", "")
    before = len(errors)
    if not isinstance(instruction_id, str) or not ID_PATTERN.match(instruction_id):
        errors[f"{where}instruction_id"] = ID_RULE
    if not isinstance(account, str) or not ACCOUNT_PATTERN.match(account):
        errors[f"{where}account_number"] = "1 to 64 characters without spaces or '/'"
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        errors[f"{where}amount_idr"] = "a whole number of rupiah above 0"
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        errors[f"{where}description"] = f"text of at most {MAX_DESCRIPTION} characters"
    if len(errors) > before:
        return None
    return Instruction(instruction_id, account, amount, description)


def account_read(
    data: Any, where: str, account_type: str, errors: dict[str, str]
) -> Account | None:
    if not isinstance(data, dict):
        errors[where.rstrip(".")] = "must be an object"
        return None
    before = len(errors)
    values = {
        "account_type": data.get("account_type", account_type),
        "account_number": data.get("account_number"),
        "nik": data.get("nik"),
        "holder_name": data.get("holder_name"),
        "kyc_level": data.get("kyc_level", "upgraded"),
        "status": data.get("status", "active"),
        "phone_changed": data.get("phone_changed", False),
        "fail_reason": data.get("fail_reason", ""),
    }
    if values["account_type"] != account_type:
        errors[f"{where}account_type"] = f"this institution holds {account_type} accounts"
    number = values["account_number"]
    if not isinstance(number, str) or not ACCOUNT_PATTERN.match(number):
        errors[f"{where}account_number"] = "1 to 64 characters without spaces or '/'"
    if not isinstance(values["nik"], str) or not NIK_PATTERN.match(values["nik"]):
        errors[f"{where}nik"] = "16 digits"
    name = values["holder_name"]
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        errors[f"{where}holder_name"] = "1 to 100 characters"
    if values["kyc_level"] not in KYC_LEVELS:
        errors[f"{where}kyc_level"] = f"one of {', '.join(KYC_LEVELS)}"
    if values["status"] not in ACCOUNT_STATUSES:
        errors[f"{where}status"] = f"one of {', '.join(ACCOUNT_STATUSES)}"
    if not isinstance(values["phone_changed"], bool):
        errors[f"{where}phone_changed"] = "true or false"
    if values["fail_reason"] not in ("", *REASON_CODES):
        errors[f"{where}fail_reason"] = f"empty or one of {', '.join(REASON_CODES)}"
    if len(errors) > before:
        return None
    return Account(**values)


def batch_totals_problem(data: dict[str, Any], items: list[Instruction]) -> dict[str, Any] | None:
    count, total = data.get("control_count"), data.get("control_sum_idr")
    counted, summed = len(items), sum(item.amount_idr for item in items)
    if type(count) is int and type(total) is int and (count, total) == (counted, summed):
        return None
    return {
        "control_count": count,
        "control_sum_idr": total,
        "counted": counted,
        "summed_idr": summed,
    }
