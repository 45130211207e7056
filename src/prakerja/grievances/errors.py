"""The refusals of complaints, with stable codes (the participant API and the console show them).
Malformed fields (no text, an unknown category) are the shared VALIDATION_FAILED with the field in
`details`."""

from prakerja.common.errors import ApplicationError, Conflict, NotFound, ValidationFailed


class ComplaintNotFound(NotFound):
    """No such complaint — or one of another participant, which must look the same."""

    code = "COMPLAINT_NOT_FOUND"
    message_id = "Pengaduan tidak ditemukan."
    message_en = "The complaint was not found."


class ComplaintTransitionRefused(Conflict):
    code = "COMPLAINT_TRANSITION_REFUSED"
    message_id = "Pengaduan berstatus {current} tidak dapat diubah menjadi {target}."
    message_en = "A complaint that is {current} cannot become {target}."


class ComplaintResolutionRequired(ValidationFailed):
    code = "COMPLAINT_RESOLUTION_REQUIRED"
    message_id = "Tuliskan penyelesaian yang akan dibaca peserta."
    message_en = "Write the resolution the participant will read."


class ComplaintAssigneeNotOperator(ApplicationError):
    code = "COMPLAINT_ASSIGNEE_NOT_OPERATOR"
    http_status = 422
    message_id = "Pengaduan hanya dapat ditugaskan kepada petugas layanan yang aktif."
    message_en = "A complaint can only be assigned to an active support operator."


class ComplaintAttachmentInvalid(ApplicationError):
    """details.attachment: ATTACHMENT_TOO_LARGE, ATTACHMENT_FORMAT or ATTACHMENT_EMPTY."""

    code = "COMPLAINT_ATTACHMENT_INVALID"
    http_status = 422
    message_id = "Lampiran harus berupa foto JPEG/PNG atau PDF, paling besar {megabytes} MB."
    message_en = "The attachment must be a JPEG/PNG photo or a PDF of at most {megabytes} MB."
