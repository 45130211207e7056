"""One family of errors with stable codes, each with a message in Bahasa Indonesia and English.

The code is the contract (partners and the mobile app branch on it); the messages are for people.
A subclass declares its code, HTTP status and both message templates; `details` carries the facts
(failing fields, account ids) that the templates may interpolate.
"""

from typing import Any, ClassVar


class ApplicationError(Exception):
    code: ClassVar[str] = "APPLICATION_ERROR"
    http_status: ClassVar[int] = 400
    message_id: ClassVar[str] = "Permintaan tidak dapat diproses."
    message_en: ClassVar[str] = "The request could not be processed."

    def __init__(self, details: dict[str, Any] | None = None, **params: Any) -> None:
        self.details: dict[str, Any] = dict(details or {})
        self.params = params
        super().__init__(self.message("en"))

    def message(self, language: str = "id") -> str:
        template = self.message_en if language.startswith("en") else self.message_id
        return template.format(**self.params) if self.params else template

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with the answer: `Retry-After` on every 429 (from the refusal's
        `retry_after_s`, else a minute), so a client knows when to come back."""
        if self.http_status == 429:
            return {"Retry-After": str(max(1, int(self.details.get("retry_after_s", 60))))}
        return {}

    def body(self, language: str = "id") -> dict[str, Any]:
        """The error body of the partner API contract, used by every JSON API."""
        return {
            "error": {"code": self.code, "message": self.message(language), "details": self.details}
        }


class ValidationFailed(ApplicationError):
    code = "VALIDATION_FAILED"
    http_status = 422
    message_id = "Data yang dikirim tidak valid. Periksa kolom yang disebutkan."
    message_en = "The submitted data is not valid. Check the fields named in details."


class FieldsDisagree(ValidationFailed):
    """Fields each valid alone that do not fit together (a birth date the NIK does not encode, an
    account number of another kind than its institution's). No JSON schema can state such a rule,
    so it is a 409 rather than a 422: every 422 of the APIs is a refusal their schemas describe.
    `details` names the fields, as for VALIDATION_FAILED."""

    code = "FIELDS_DISAGREE"
    http_status = 409
    message_id = "Beberapa isian tidak cocok satu sama lain. Periksa kolom yang disebutkan."
    message_en = "Some of the fields do not fit together. Check the fields named in details."


class NotFound(ApplicationError):
    code = "NOT_FOUND"
    http_status = 404
    message_id = "Data yang diminta tidak ditemukan."
    message_en = "The requested item was not found."


class PermissionDenied(ApplicationError):
    code = "PERMISSION_DENIED"
    http_status = 403
    message_id = "Anda tidak memiliki izin untuk tindakan ini."
    message_en = "You do not have permission for this action."


class Conflict(ApplicationError):
    code = "CONFLICT"
    http_status = 409
    message_id = "Permintaan bertentangan dengan keadaan data saat ini."
    message_en = "The request conflicts with the current state of the data."


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    message_id = "Kunci idempotensi ini sudah dipakai untuk permintaan yang berbeda."
    message_en = "This idempotency key was already used for a different request."


class InsufficientBalance(Conflict):
    code = "INSUFFICIENT_BALANCE"
    message_id = "Saldo tidak mencukupi untuk transaksi ini."
    message_en = "The balance is not enough for this transaction."


class AlreadyReversed(Conflict):
    code = "ALREADY_REVERSED"
    message_id = "Transaksi ini sudah pernah dibatalkan."
    message_en = "This transaction has already been reversed."


class PathNotFound(ApplicationError):
    """An API address that does not exist (rather than an object that does not)."""

    code = "PATH_NOT_FOUND"
    http_status = 404
    message_id = "Alamat ini tidak ada di API. Periksa path dan versinya di dokumentasi."
    message_en = "This address does not exist in the API. Check the path and version in the docs."


class MethodNotAllowed(ApplicationError):
    code = "METHOD_NOT_ALLOWED"
    http_status = 405
    message_id = "Metode HTTP ini tidak dipakai di alamat ini. Lihat `details.allowed`."
    message_en = "This HTTP method is not used at this address. See `details.allowed`."


class RequestTooLarge(ApplicationError):
    code = "REQUEST_TOO_LARGE"
    http_status = 413
    message_id = "Isi permintaan terlalu besar (paling banyak {limit_bytes} byte)."
    message_en = "The request body is too large (at most {limit_bytes} bytes)."


class BadRequest(ApplicationError):
    """A request the web server could not read at all (bad headers, too many fields)."""

    code = "BAD_REQUEST"
    http_status = 400
    message_id = "Permintaan tidak dapat dibaca. Periksa header dan isinya."
    message_en = "The request could not be read. Check its headers and body."


class UriTooLong(ApplicationError):
    """A request line (method, address with its query, version) longer than the server reads."""

    code = "URI_TOO_LONG"
    http_status = 414
    message_id = (
        "Alamat permintaan terlalu panjang. Perpendek query-nya; data panjang dikirim di isi."
    )
    message_en = "The request address is too long. Shorten its query; send long data in the body."


class RequestHeadersTooLarge(ApplicationError):
    """Headers the server will not read: one too large, or too many of them."""

    code = "REQUEST_HEADERS_TOO_LARGE"
    http_status = 431
    message_id = "Header permintaan terlalu besar atau terlalu banyak."
    message_en = "The request headers are too large or too many."


class InternalError(ApplicationError):
    """A fault of the system's own (an exception no code expected). The answer never shows it;
    `details.reference` names the log line that does."""

    code = "INTERNAL_ERROR"
    http_status = 500
    message_id = (
        "Terjadi kesalahan di sistem kami. Coba lagi sebentar lagi; bila terus terjadi, hubungi "
        "kami dengan menyebutkan waktu permintaan dan `details.reference` bila ada."
    )
    message_en = (
        "Something went wrong on our side. Try again shortly; if it keeps happening, contact us "
        "with the time of the request and `details.reference` when given."
    )


# What the proxy in front (deploy/nginx) answers when the web process does not: the request may or
# may not have been carried out, so a partner repeats a POST/PUT/DELETE with the same X-EXTERNAL-ID.


class BadGateway(ApplicationError):
    code = "BAD_GATEWAY"
    http_status = 502
    message_id = (
        "Layanan sedang tidak dapat dihubungi. Coba lagi sebentar lagi; ulangi permintaan yang "
        "mengubah data dengan X-EXTERNAL-ID yang sama."
    )
    message_en = (
        "The service could not be reached. Try again shortly; repeat a request that changes data "
        "with the same X-EXTERNAL-ID."
    )


class ServiceUnavailable(ApplicationError):
    code = "SERVICE_UNAVAILABLE"
    http_status = 503
    message_id = "Layanan sedang sibuk atau dalam pemeliharaan. Coba lagi sebentar lagi."
    message_en = "The service is busy or under maintenance. Try again shortly."


class GatewayTimeout(ApplicationError):
    code = "GATEWAY_TIMEOUT"
    http_status = 504
    message_id = (
        "Layanan tidak menjawab tepat waktu; permintaan mungkin sudah diproses. Ulangi dengan "
        "X-EXTERNAL-ID yang sama: permintaan yang sudah diproses tidak diproses dua kali."
    )
    message_en = (
        "The service did not answer in time; the request may have been carried out. Repeat it "
        "with the same X-EXTERNAL-ID: a request carried out already is not carried out twice."
    )


def all_error_classes() -> list[type[ApplicationError]]:
    """Every ApplicationError subclass loaded so far, for the error catalogue and its tests."""
    found: list[type[ApplicationError]] = []
    pending: list[type[ApplicationError]] = [ApplicationError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.code)
