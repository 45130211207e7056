"""The partner API's refusals, with the codes partner-api.md names."""

from prakerja.common.errors import ApplicationError


class SignatureInvalid(ApplicationError):
    code = "SIGNATURE_INVALID"
    http_status = 401
    message_id = "Tanda tangan permintaan tidak valid."
    message_en = "The request signature is not valid."


class TimestampOutOfRange(ApplicationError):
    code = "TIMESTAMP_OUT_OF_RANGE"
    http_status = 401
    message_id = "X-TIMESTAMP lebih dari 5 menit dari jam server, atau tidak terbaca."
    message_en = "X-TIMESTAMP is more than 5 minutes off the server clock, or unreadable."


class PartnerUnknown(ApplicationError):
    code = "PARTNER_UNKNOWN"
    http_status = 401
    message_id = "X-PARTNER-ID tidak dikenal."
    message_en = "X-PARTNER-ID is not a known partner."


class PartnerSuspended(ApplicationError):
    code = "PARTNER_SUSPENDED"
    http_status = 403
    message_id = "Akses mitra ini sedang ditangguhkan. Hubungi PMO Kartu Prakerja."
    message_en = "This partner's access is suspended. Contact the Kartu Prakerja PMO."


class PartnerKindNotAllowed(ApplicationError):
    """A call made by the wrong kind of partner (a financial institution publishing trainings, a
    platform reporting transfers)."""

    code = "PARTNER_KIND_NOT_ALLOWED"
    http_status = 403
    message_id = "Panggilan ini hanya untuk mitra berjenis {kind}."
    message_en = "This call is only for partners of kind {kind}."
