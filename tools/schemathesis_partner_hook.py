"""Schemathesis hooks that sign every call to the partner API as partner-api.md says, so that anyone
can fuzz a running system (the demo, a staging host) with all of schemathesis's checks:

    export PRAKERJA_PARTNER_CODE=tokopedia          # a platform partner of that system
    export PRAKERJA_PARTNER_SECRET=...              # its signing secret (`prakerja partners ...`)
    export SCHEMATHESIS_HOOKS=tools.schemathesis_partner_hook   # run from the repository's root
    schemathesis run --checks all --phases examples,coverage,fuzzing --max-examples 100 \\
        http://127.0.0.1:8000/api/partner/v1/openapi.json

(`PYTHONPATH=.` if `tools` is not importable from where you run it.) The institution operations
(`/transfers`, `/transfer-batches`, `/statements`) answer a platform `403 PARTNER_KIND_NOT_ALLOWED`:
run them again with an institution's code and secret and `--include-tag transfers --include-tag
statements`. Give the partner a rate limit the run will not reach (`429`s are documented answers,
but they leave the bodies untried). Optionally, `PRAKERJA_FUZZ_VOUCHERS=CODE,CODE,...` lists voucher
codes of the partner's that generated voucher calls then also use (a code cannot be guessed); valid
progress and completion reports are sent with the time now one time in two (a random time is almost
never after the redemption and before five minutes from now). With an expired voucher among the
codes, `410 VOUCHER_EXPIRED` is the contract's answer: add 410 to positive_data_acceptance's
expected statuses in schemathesis.toml (`[checks.positive_data_acceptance] expected-statuses =
["2xx", "401", "403", "404", "409", "410", "429"]`).

How a call is signed (the contract): the signature is computed on the request exactly as it leaves,
after the body is serialised and the URL encoded — `X-SIGNATURE` = base64 HMAC-SHA256 with the
secret over `METHOD:PATH_WITH_QUERY:hex(SHA-256(body bytes)):X-TIMESTAMP:X-EXTERNAL-ID`, where
`PATH_WITH_QUERY` is the request target as written on the request line; `X-TIMESTAMP` is now,
`X-EXTERNAL-ID` unique per call. It is done by a `requests` auth object that schemathesis's own
transport calls on the prepared request, so it signs the bytes that are sent.

What is left as generated, so that the checks that probe it see the server's answer to it: a
required header the case leaves out (`missing_required_header`) stays out; an `X-SIGNATURE` that is
not this hook's placeholder (`ignored_auth` sends a spoilt one, or none) is sent as it is, unsigned.
The placeholder is this hook's auth provider's value, which makes the signature the run's explicit
credential in schemathesis's eyes.

Standard library and schemathesis only (`requests` comes with schemathesis)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import itertools
import os
import re
import secrets
from typing import Any

import schemathesis

PARTNER_ID = "X-PARTNER-ID"
TIMESTAMP = "X-TIMESTAMP"
EXTERNAL_ID = "X-EXTERNAL-ID"
SIGNATURE = "X-SIGNATURE"
# The auth provider's value: replaced by the real signature when the request leaves.
PLACEHOLDER = "signed-when-sent"
WIB = datetime.timezone(datetime.timedelta(hours=7))
_calls = itertools.count(1)
_run = secrets.token_hex(4)


def signature(secret: str, method: str, target: str, body: bytes, stamp: str, key: str) -> str:
    """partner-api.md's X-SIGNATURE (the same as prakerja.partners.signing)."""
    text = f"{method.upper()}:{target}:{hashlib.sha256(body).hexdigest()}:{stamp}:{key}"
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# What the document says of the headers: a value that breaks it is left as generated, so that the
# server's refusal of it is what the checks see.
EXTERNAL_ID_MAX = 64
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def sign(prepared: Any, *, partner: str, secret: str) -> Any:
    """Sign a prepared request in place (anything with `method`, `path_url`, `body` and `headers`,
    such as requests.PreparedRequest) and return it.

    A header the request carries with a value the document admits gets the partner's value (its
    code, the time now, a key of its own); one it does not carry is not added; one whose value
    breaks the document (an X-EXTERNAL-ID over 64 characters, an X-TIMESTAMP that is no date-time)
    is sent as generated. `X-SIGNATURE` is computed only where it holds the placeholder: a missing
    or spoilt signature is sent as it is."""
    headers = prepared.headers
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
        prepared.body = body  # what is signed is what is sent: UTF-8, not http.client's Latin-1
    if PARTNER_ID in headers:
        headers[PARTNER_ID] = partner
    if TIMESTAMP in headers and RFC3339.match(headers[TIMESTAMP]):
        headers[TIMESTAMP] = datetime.datetime.now(WIB).isoformat(timespec="seconds")
    if EXTERNAL_ID in headers and len(headers[EXTERNAL_ID]) <= EXTERNAL_ID_MAX:
        headers[EXTERNAL_ID] = f"schemathesis-{_run}-{next(_calls)}"
    if headers.get(SIGNATURE) == PLACEHOLDER:
        headers[SIGNATURE] = signature(
            secret,
            str(prepared.method),
            prepared.path_url,
            body,
            headers.get(TIMESTAMP, ""),
            headers.get(EXTERNAL_ID, ""),
        )
    return prepared


class Signer:
    """A `requests` auth: called on the prepared request, after serialisation."""

    def __init__(self, partner: str, secret: str) -> None:
        self.partner, self.secret = partner, secret

    def __call__(self, prepared: Any) -> Any:
        return sign(prepared, partner=self.partner, secret=self.secret)


def _valid_data(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


def _pick(case: Any) -> int:
    """A number drawn from the case itself, so that a run replays alike."""
    return hashlib.sha256(repr(sorted(map(repr, case.body.items()))).encode()).digest()[0]


def with_known_voucher(case: Any, codes: list[str]) -> Any:
    """A valid voucher call given, two times in three, one of `codes`, in one of the spellings a
    code may be sent in (grouped, without hyphens, lower case, with spaces). Valid data only: an
    invalid case is left to be refused as generated."""
    if not codes or not _valid_data(case) or "/vouchers/" not in case.path:
        return case
    if not isinstance(case.body, dict):
        return case
    choice = _pick(case)
    if choice % 3 == 0:
        return case
    code = codes[choice % len(codes)]
    case.body = {**case.body, "voucher_code": _spellings(code)[choice % 4]}
    return case


def with_time_of_now(case: Any) -> Any:
    """A valid progress or completion report given, one time in two, the time now (a time drawn
    at random is almost never between the redemption and five minutes from now)."""
    if not _valid_data(case) or not isinstance(case.body, dict):
        return case
    field = {"progress": "reported_at", "completion": "completed_at"}.get(case.path.rsplit("/")[-1])
    if field is None or not isinstance(case.body.get(field), str) or _pick(case) % 2:
        return case
    now = datetime.datetime.now(WIB).isoformat(timespec="seconds")
    case.body = {**case.body, field: now}
    return case


def _spellings(code: str) -> list[str]:
    return [code, code.replace("-", ""), code.lower(), code.replace("-", " ")]


def _credentials() -> tuple[str, str]:
    try:
        return os.environ["PRAKERJA_PARTNER_CODE"], os.environ["PRAKERJA_PARTNER_SECRET"]
    except KeyError as missing:
        raise RuntimeError(
            f"{missing.args[0]} is not set: the partner code and secret sign every call"
        ) from None


def register() -> None:
    """The hooks of a run: the placeholder credential, the signer, the known vouchers."""

    @schemathesis.auth()
    class PartnerSignature:
        """The run's credential: a placeholder the signer turns into the signature."""

        def get(self, case: Any, ctx: Any) -> str:
            return PLACEHOLDER

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = case.headers or {}
            case.headers[SIGNATURE] = data

    @schemathesis.hook
    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        partner, secret = _credentials()
        kwargs["auth"] = Signer(partner, secret)

    @schemathesis.hook
    def map_case(context: Any, case: Any) -> Any:
        codes = [c.strip() for c in os.environ.get("PRAKERJA_FUZZ_VOUCHERS", "").split(",")]
        return with_time_of_now(with_known_voucher(case, [code for code in codes if code]))


# Loaded by SCHEMATHESIS_HOOKS, the hooks are registered for the run. The project's own test imports
# the signer with PRAKERJA_PARTNER_HOOK_REGISTER=0 (its tests share schemathesis's global hooks
# with another API's fuzzing).
if os.environ.get("PRAKERJA_PARTNER_HOOK_REGISTER", "1") != "0":
    register()
