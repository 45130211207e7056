"""The refusals of purchases, vouchers and the platform's reports, with stable codes (partner-api.md,
"Digital platforms", and the participant API). A partner branches on the code; people read the
message in Bahasa Indonesia or English."""

from prakerja.common.errors import ApplicationError, Conflict, NotFound, PermissionDenied

# --- purchase (participants) ---------------------------------------------------------------------


class ParticipantNotActive(Conflict):
    code = "PARTICIPANT_NOT_ACTIVE"
    message_id = (
        "Kepesertaan Kartu Prakerja Anda tidak aktif, sehingga Anda tidak dapat membeli pelatihan."
    )
    message_en = "Your Kartu Prakerja membership is not active, so you cannot buy a training."


class PurchaseWindowOver(Conflict):
    """The first-purchase deadline passed without a purchase: revocation is next (waves.revocation),
    and a purchase now would undo the rule that decides it."""

    code = "PURCHASE_WINDOW_OVER"
    message_id = (
        "Batas waktu pembelian pelatihan pertama sudah lewat. Kepesertaan Anda akan dicabut."
    )
    message_en = "The deadline to buy a first training has passed. Your membership will be revoked."


class TrainingNotAvailable(NotFound):
    """Not in the catalog: no such training, or one that is not active (pending review, rejected,
    suspended, withdrawn)."""

    code = "TRAINING_NOT_AVAILABLE"
    message_id = "Pelatihan ini tidak tersedia untuk dibeli saat ini."
    message_en = "This training is not available to buy at the moment."


class OrderAlreadyOpen(Conflict):
    code = "ORDER_ALREADY_OPEN"
    message_id = (
        "Anda sudah membeli pelatihan ini dan vouchernya masih berlaku atau pelatihannya sedang "
        "berjalan. Lihat di Pelatihan Saya."
    )
    message_en = (
        "You already bought this training and its voucher is still valid or the training is under "
        "way. See My trainings."
    )


class BalanceExpired(Conflict):
    code = "BALANCE_EXPIRED"
    message_id = "Saldo pelatihan Anda sudah tidak berlaku sejak {expired_on}."
    message_en = "Your training balance is no longer valid since {expired_on}."


# --- vouchers (platforms) ------------------------------------------------------------------------


class VoucherNotFound(NotFound):
    """Also the answer for a malformed code (wrong length, a character outside Crockford's base32
    or a wrong check symbol): such a code is refused before any database read."""

    code = "VOUCHER_NOT_FOUND"
    message_id = "Kode voucher tidak ditemukan. Periksa kembali kodenya."
    message_en = "There is no voucher with this code. Check the code again."


class VoucherOtherPlatform(PermissionDenied):
    code = "VOUCHER_OTHER_PLATFORM"
    message_id = (
        "Voucher ini dibeli untuk pelatihan di platform lain dan hanya dapat ditukar di sana."
    )
    message_en = (
        "This voucher was bought for a training on another platform and can only be redeemed there."
    )


class VoucherAlreadyRedeemed(Conflict):
    code = "VOUCHER_ALREADY_REDEEMED"
    message_id = "Voucher ini sudah ditukar."
    message_en = "This voucher has already been redeemed."


class VoucherExpired(ApplicationError):
    code = "VOUCHER_EXPIRED"
    http_status = 410
    message_id = "Voucher ini sudah kedaluwarsa."
    message_en = "This voucher has expired."


class VoucherCancelled(ApplicationError):
    code = "VOUCHER_CANCELLED"
    http_status = 410
    message_id = "Voucher ini sudah dibatalkan."
    message_en = "This voucher has been cancelled."


# --- orders (platforms' reports) -------------------------------------------------------------------


class OrderNotFound(NotFound):
    """Also another platform's order: a partner only sees its own data (partner-api.md)."""

    code = "ORDER_NOT_FOUND"
    message_id = "Pesanan tidak ditemukan."
    message_en = "There is no such order."


class OrderNotRedeemed(Conflict):
    code = "ORDER_NOT_REDEEMED"
    message_id = (
        "Voucher pesanan ini belum ditukar, jadi kemajuan dan penyelesaian belum bisa dicatat."
    )
    message_en = (
        "This order's voucher has not been redeemed, so progress and completion cannot be "
        "recorded yet."
    )


class OrderAlreadyCompleted(Conflict):
    code = "ORDER_ALREADY_COMPLETED"
    message_id = "Pesanan ini sudah selesai."
    message_en = "This order is already completed."


class ProgressBackwards(Conflict):
    code = "PROGRESS_BACKWARDS"
    message_id = "Kemajuan tidak boleh mundur: tercatat {percent}% dan {sessions} sesi."
    message_en = "Progress never goes backwards: {percent}% and {sessions} sessions are recorded."
