"""The refusals of registration's services, each with its stable code and both languages."""

from prakerja.common.errors import ApplicationError, Conflict, ValidationFailed


class InvalidCredentials(ApplicationError):
    code = "INVALID_CREDENTIALS"
    http_status = 401
    message_id = "Email atau kata sandi salah."
    message_en = "The email or password is wrong."


class AccountLocked(ApplicationError):
    code = "ACCOUNT_LOCKED"
    http_status = 429
    message_id = (
        "Terlalu banyak percobaan masuk yang gagal. Demi keamanan, coba lagi dalam {minutes} "
        "menit atau atur ulang kata sandi."
    )
    message_en = (
        "Too many failed sign-in attempts. For your safety, try again in {minutes} minutes or "
        "reset your password."
    )


class LinkInvalid(ApplicationError):
    code = "LINK_INVALID"
    http_status = 400
    message_id = "Tautan tidak berlaku atau sudah kedaluwarsa. Minta tautan baru."
    message_en = "The link is not valid or has expired. Ask for a new one."


class PhoneTaken(Conflict):
    code = "PHONE_TAKEN"
    message_id = "Nomor ponsel ini sudah dipakai akun lain. Tulis nomor ponsel lain milik Anda."
    message_en = "This mobile number is used by another account. Write another number of yours."


class StepNotAvailable(Conflict):
    code = "STEP_NOT_AVAILABLE"
    message_id = "Langkah ini belum atau tidak lagi tersedia untuk akun Anda."
    message_en = "This step is not available for your account now."


class SelfieInvalid(ValidationFailed):
    code = "SELFIE_INVALID"
    message_id = "Foto harus berformat JPEG atau PNG dan paling besar 5 MB."
    message_en = "The photo must be a JPEG or PNG of at most 5 MB."


class CodeRefused(ApplicationError):
    """An emailed code refused where the caller is not signed in (finishing a sign-up, resetting a
    password): one answer for a wrong code, a used-up or expired one, and a receipt or an email with
    no account behind it, so a caller learns nothing about other accounts from it."""

    code = "CODE_INVALID"
    http_status = 401  # the code is the credential here, as the password is at sign-in
    message_id = (
        "Kode salah atau sudah tidak berlaku. Periksa email terbaru dari Kartu Prakerja, atau minta "
        "kode baru."
    )
    message_en = (
        "The code is wrong or no longer valid. Check the latest email from Kartu Prakerja, or ask "
        "for a new code."
    )


class LinkNeedsCode(ApplicationError):
    code = "LINK_NEEDS_CODE"
    http_status = 400
    message_id = (
        "Demi keamanan, tautan ini hanya berlaku di ponsel atau peramban tempat Anda mendaftar. "
        "Buka tautan di sana, atau masukkan kode 6 angka dari email di halaman pendaftaran."
    )
    message_en = (
        "For your safety this link works only on the phone or browser you signed up on. Open it "
        "there, or enter the 6-digit code from the email on the sign-up page."
    )
