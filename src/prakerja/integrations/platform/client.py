"""Calling the partner API as a platform's backend does: every request signed per partner-api.md
(prakerja.partners.signing), with an X-EXTERNAL-ID that is the idempotency key of the call.

    client = PartnerApiClient("http://127.0.0.1:8000/api/partner/v1", "tokopedia", secret)
    answer = client.put_training("kelas-excel-1", {"title": …})
    answer.status, answer.body
    client.voucher_redeem("7K3M-Q9TX-2RWH-5", "user-42").body["order_id"]

A retry of the same call must reuse its external id (pass `external_id=`), so the system answers
with its first answer instead of acting twice.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from prakerja.common import clock
from prakerja.common.timeutil import WIB
from prakerja.integrations.http_client import HttpClient
from prakerja.partners.signing import signed_headers


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any  # the decoded JSON, or the text when the answer is not JSON, or None when empty


def new_external_id() -> str:
    return uuid.uuid4().hex


def path_segment(value: str) -> str:
    """`value` percent-encoded as one path segment. The signature covers the target as sent
    (`call` signs the bytes httpx puts on the request line), so under gunicorn any encoding signs
    alike; this one (Django's escape_uri_path: RFC 3986 reserved and mark characters other than
    "/", ";", "=" and "?" stay as they are) is also the one a server without the raw target
    (`runserver`, Django's live test server) rebuilds from the decoded path, so the sandbox signs
    alike against either."""
    return quote(value, safe=":@&+$,-_.!~*'()")


class PartnerApiClient(HttpClient):
    def __init__(
        self,
        base_url: str,
        partner: str,
        secret: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`base_url` is the API's base, e.g. http://host/api/partner/v1; `transport` lets tests
        call an in-process application."""
        super().__init__(base_url, timeout=timeout, transport=transport)
        self.partner = partner
        self._secret = secret

    def put_training(
        self, external_id: str, body: dict[str, Any], *, request_id: str | None = None
    ) -> ApiAnswer:
        """Create or change the training the platform knows as `external_id`."""
        return self.call("PUT", f"/trainings/{path_segment(external_id)}", body, request_id)

    def delete_training(self, external_id: str, *, request_id: str | None = None) -> ApiAnswer:
        """Withdraw the training the platform knows as `external_id`."""
        return self.call("DELETE", f"/trainings/{path_segment(external_id)}", None, request_id)

    def voucher_status(self, voucher_code: str, *, request_id: str | None = None) -> ApiAnswer:
        """The voucher's status, training, price, participant pseudonym and expiry."""
        return self.call("POST", "/vouchers/status", {"voucher_code": voucher_code}, request_id)

    def voucher_redeem(
        self, voucher_code: str, platform_user_ref: str, *, request_id: str | None = None
    ) -> ApiAnswer:
        """Redeem a voucher of one of the platform's trainings (once): answers the order id."""
        body = {"voucher_code": voucher_code, "platform_user_ref": platform_user_ref}
        return self.call("POST", "/vouchers/redeem", body, request_id)

    def order_progress(
        self,
        order_id: int,
        *,
        percent: int,
        sessions_attended: int,
        reported_at: datetime | None = None,
        request_id: str | None = None,
    ) -> ApiAnswer:
        """Report a redeemed order's progress (never backwards); `reported_at` defaults to now."""
        body = {
            "percent": percent,
            "sessions_attended": sessions_attended,
            "reported_at": (reported_at or clock.now().astimezone(WIB)).isoformat(),
        }
        return self.call("POST", f"/orders/{order_id}/progress", body, request_id)

    def order_completion(
        self,
        order_id: int,
        *,
        final_score: int,
        certificate_number: str,
        certificate_url: str,
        completed_at: datetime | None = None,
        request_id: str | None = None,
    ) -> ApiAnswer:
        """Report a redeemed order completed with its score and certificate; `completed_at`
        defaults to now."""
        body = {
            "completed_at": (completed_at or clock.now().astimezone(WIB)).isoformat(),
            "final_score": final_score,
            "certificate_number": certificate_number,
            "certificate_url": certificate_url,
        }
        return self.call("POST", f"/orders/{order_id}/completion", body, request_id)

    def call(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        external_id: str | None = None,
    ) -> ApiAnswer:
        """One signed call. `path` is below the base URL and may carry a query string;
        `external_id` is the X-EXTERNAL-ID header (a new random one when None)."""
        body = b"" if json_body is None else json.dumps(json_body, ensure_ascii=False).encode()
        request = self._client.build_request(
            method.upper(),
            self.base_url + "/" + path.lstrip("/"),
            content=body,
            headers={"content-type": "application/json"} if body else None,
        )
        # Signed over the path exactly as it goes on the wire (after httpx's URL normalising).
        request.headers.update(
            signed_headers(
                partner=self.partner,
                secret=self._secret,
                method=request.method,
                path_with_query=request.url.raw_path.decode("ascii"),
                body=body,
                timestamp=clock.now().astimezone(WIB).isoformat(timespec="seconds"),
                external_id=external_id or new_external_id(),
            )
        )
        response = self._client.send(request)
        return ApiAnswer(response.status_code, _decoded(response))


def _decoded(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text
