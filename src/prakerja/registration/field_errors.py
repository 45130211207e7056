"""Messages for the reason codes a refused form field carries in ValidationFailed.details."""

FIELD_ERRORS: dict[str, tuple[str, str]] = {
    "EMAIL_INVALID": ("Alamat email tidak valid.", "The email address is not valid."),
    "EMAIL_TAKEN": (
        "Email ini sudah dipakai akun lain. Masuk, atau atur ulang kata sandi jika lupa.",
        "This email is already used by an account. Sign in, or reset the password if you forgot it.",
    ),
    "NIK_FORMAT": (
        "NIK harus 16 angka, sesuai KTP.",
        "The NIK must be 16 digits, as on your ID card.",
    ),
    "NIK_REGION_UNKNOWN": (
        "4 angka pertama NIK bukan kode provinsi dan kabupaten/kota yang ada. Periksa lagi.",
        "The first 4 digits of the NIK are not a known province and regency code. Check it again.",
    ),
    "NIK_BIRTH_DATE_INVALID": (
        "Angka ke-7 sampai ke-12 NIK bukan tanggal lahir yang benar. Periksa lagi.",
        "Digits 7 to 12 of the NIK are not a valid birth date. Check it again.",
    ),
    "NIK_SERIAL_INVALID": (
        "4 angka terakhir NIK tidak boleh 0000.",
        "The last 4 digits of the NIK cannot be 0000.",
    ),
    "NIK_BIRTH_DATE_MISMATCH": (
        "Tanggal lahir tidak cocok dengan tanggal yang tercantum di NIK. Periksa NIK dan tanggal lahir.",
        "The birth date does not match the date inside the NIK. Check both.",
    ),
    "NIK_TAKEN": (
        "NIK ini sudah terdaftar. Satu NIK hanya untuk satu akun. Masuk dengan akun tersebut, "
        "atau ajukan pengaduan jika itu bukan Anda.",
        "This NIK is already registered. One NIK is one account. Sign in with that account, or "
        "file a complaint if it was not you.",
    ),
    "NAME_REQUIRED": ("Tulis nama lengkap sesuai KTP.", "Write your full name as on your ID card."),
    "PHONE_INVALID": (
        "Nomor ponsel tidak valid. Contoh: 0812 3456 7890.",
        "The mobile number is not valid. Example: 0812 3456 7890.",
    ),
    "PHONE_TAKEN": (
        "Nomor ponsel ini sudah dipakai akun lain.",
        "This mobile number is used by another account.",
    ),
    "REGION_UNKNOWN": (
        "Pilih kabupaten/kota tempat tinggal.",
        "Choose the regency or city you live in.",
    ),
    "CHOICE_INVALID": ("Pilih salah satu pilihan.", "Choose one of the options."),
    "BIRTH_DATE_INVALID": ("Tanggal lahir tidak valid.", "The birth date is not valid."),
    "PASSWORD_WEAK": ("Kata sandi terlalu lemah.", "The password is too weak."),
    "SELFIE_TOO_LARGE": ("Foto lebih dari 5 MB.", "The photo is larger than 5 MB."),
    "SELFIE_EMPTY": ("Pilih foto terlebih dahulu.", "Choose a photo first."),
    "SELFIE_FORMAT": ("Foto harus JPEG atau PNG.", "The photo must be a JPEG or PNG."),
    "REQUIRED": ("Wajib diisi.", "Required."),
    "TOO_LONG": ("Terlalu panjang.", "Too long."),
    "CHARACTER_INVALID": (
        "Teks ini memuat karakter yang tidak dapat disimpan (karakter kontrol atau arah tulisan, "
        "sering ikut tertempel tanpa terlihat). Ketik ulang atau hapus karakter itu.",
        "This text holds a character that cannot be kept (a control or direction character, often "
        "pasted in unseen). Type it again or remove that character.",
    ),
}


def field_error_text(detail: object, language: str) -> str:
    """The message for one entry of ValidationFailed.details (a code, or {code, messages})."""
    if isinstance(detail, dict):
        code = str(detail.get("code", ""))
        extra = " ".join(str(m) for m in detail.get("messages", []))
    else:
        code, extra = str(detail), ""
    id_text, en_text = FIELD_ERRORS.get(code, (code, code))
    text = en_text if language.startswith("en") else id_text
    return f"{text} {extra}".strip()
