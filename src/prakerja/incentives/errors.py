"""The refusals of payment accounts, surveys, disbursement runs and the institutions' calls, with
stable codes; people read the message in Bahasa Indonesia or English."""

from prakerja.common.errors import Conflict, NotFound, PermissionDenied

# --- participants ----------------------------------------------------------------------------------


class InstitutionUnknown(NotFound):
    code = "INSTITUTION_UNKNOWN"
    message_id = "Bank atau dompet digital ini tidak melayani pembayaran insentif Prakerja."
    message_en = "This bank or e-wallet does not pay Prakerja incentives."


class ParticipantNotEntitled(Conflict):
    """A revoked participant earns no incentives, so links no account."""

    code = "MEMBERSHIP_NOT_ACTIVE"
    message_id = "Kepesertaan Kartu Prakerja Anda tidak aktif, sehingga tidak menerima insentif."
    message_en = "Your Kartu Prakerja membership is not active, so it receives no incentives."


class SurveyNotOpen(Conflict):
    code = "SURVEY_NOT_OPEN"
    message_id = (
        "Survei ini belum dapat diisi. Survei ke-{sequence} dibuka bersama insentif ke-{sequence}."
    )
    message_en = (
        "This survey cannot be filled in yet. Survey {sequence} opens with incentive {sequence}."
    )


class SurveyAlreadySubmitted(Conflict):
    code = "SURVEY_ALREADY_SUBMITTED"
    message_id = "Anda sudah mengisi survei ini."
    message_en = "You have already submitted this survey."


# --- finance ---------------------------------------------------------------------------------------


class RunExists(Conflict):
    code = "RUN_EXISTS"
    message_id = "Sudah ada proses pembayaran untuk tanggal {run_date}."
    message_en = "A disbursement run for {run_date} already exists."


class RunNotPrepared(Conflict):
    code = "RUN_NOT_PREPARED"
    message_id = "Proses pembayaran ini tidak sedang menunggu persetujuan (status: {status})."
    message_en = "This disbursement run is not awaiting approval (status: {status})."


class MakerCannotApprove(PermissionDenied):
    code = "MAKER_CANNOT_APPROVE"
    message_id = "Proses pembayaran harus disetujui oleh petugas lain, bukan yang menyiapkannya."
    message_en = (
        "A disbursement run must be approved by someone other than the one who prepared it."
    )


class RunAboveApprovalLimit(PermissionDenied):
    code = "RUN_ABOVE_APPROVAL_LIMIT"
    message_id = "Jumlah proses pembayaran ini melebihi batas persetujuan Anda ({limit})."
    message_en = "This disbursement run's amount is above your approval limit ({limit})."


# --- institutions (partner API) --------------------------------------------------------------------


class TransferNotFound(NotFound):
    code = "TRANSFER_NOT_FOUND"
    message_id = "Instruksi transfer tidak ditemukan."
    message_en = "Transfer instruction not found."


class BatchNotFound(NotFound):
    code = "BATCH_NOT_FOUND"
    message_id = "Batch transfer tidak ditemukan."
    message_en = "Transfer batch not found."
