"""Every reason a layer can be pending or failed for, with what the person reads: what happened and
what to do, in Bahasa Indonesia and English. The code is stable (API clients branch on it)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    id: str  # what happened, Indonesian
    en: str
    todo_id: str = ""  # what to do, Indonesian ("" when nothing is needed)
    todo_en: str = ""
    can_retry: bool = False  # the person can fix it and try again

    def text(self, language: str) -> tuple[str, str]:
        if language.startswith("en"):
            return self.en, self.todo_en
        return self.id, self.todo_id


REASONS: dict[str, Reason] = {
    # pending
    "WAITING_EARLIER_LAYER": Reason(
        "Menunggu langkah sebelumnya selesai.", "Waiting for the previous step to finish."
    ),
    "AWAITING_EMAIL_CODE": Reason(
        "Kami mengirim kode 6 angka dan tautan ke email Anda.",
        "We sent a 6-digit code and a link to your email.",
        "Buka email Anda, lalu klik tautannya atau masukkan kodenya di sini.",
        "Open your email, then click the link or enter the code here.",
    ),
    "REGISTRY_CHECKING": Reason(
        "Data Anda sedang dicocokkan dengan data kependudukan (Dukcapil).",
        "Your details are being matched with the population registry (Dukcapil).",
        "Tidak perlu melakukan apa pun. Halaman ini akan diperbarui.",
        "Nothing to do. This page will update.",
    ),
    "REGISTRY_RETRYING": Reason(
        "Layanan Dukcapil sedang tidak dapat dihubungi. Data Anda aman dan akan dicek ulang otomatis.",
        "The population registry cannot be reached right now. Your data is safe and will be "
        "checked again automatically.",
        "Tidak perlu mendaftar ulang. Kami akan mencoba lagi dan memberi tahu Anda.",
        "No need to register again. We will retry and let you know.",
    ),
    "AWAITING_PHONE_CODE": Reason(
        "Kami mengirim kode OTP 6 angka lewat SMS ke nomor ponsel Anda.",
        "We sent a 6-digit one-time code by SMS to your phone.",
        "Masukkan kode dari SMS. Kode berlaku 5 menit.",
        "Enter the code from the SMS. It is valid for 5 minutes.",
    ),
    "PHONE_TAKEN": Reason(
        "Nomor ponsel yang Anda tulis saat mendaftar sudah dipakai akun lain.",
        "The mobile number you gave when signing up is used by another account.",
        "Tulis nomor ponsel lain milik Anda di bawah ini; kami kirim kode OTP ke nomor itu.",
        "Write another mobile number of yours below; we will send the one-time code to it.",
        can_retry=True,
    ),
    "AWAITING_SELFIE": Reason(
        "Langkah terakhir: foto wajah (swafoto) untuk dicocokkan dengan foto KTP Anda.",
        "Last step: a selfie to compare with your ID card photo.",
        "Unggah swafoto yang jelas, wajah menghadap kamera, tanpa masker atau kacamata hitam.",
        "Upload a clear selfie facing the camera, without a mask or sunglasses.",
    ),
    # failed
    "NIK_NOT_FOUND": Reason(
        "NIK tidak ditemukan di data kependudukan.",
        "The NIK was not found in the population registry.",
        "Periksa kembali 16 angka NIK pada KTP Anda. Jika sudah benar, hubungi Dinas Dukcapil "
        "setempat.",
        "Check the 16 digits of the NIK on your ID card. If it is right, contact your local "
        "civil registry office.",
    ),
    "NAME_MISMATCH": Reason(
        "Nama tidak sama dengan nama di data kependudukan.",
        "The name differs from the name in the population registry.",
        "Tulis nama lengkap persis seperti di KTP, lalu kirim ulang.",
        "Write your full name exactly as on your ID card, then send it again.",
        can_retry=True,
    ),
    "BIRTH_DATE_MISMATCH": Reason(
        "Tanggal lahir tidak sama dengan data kependudukan.",
        "The birth date differs from the population registry.",
        "Periksa tanggal lahir di KTP Anda, perbaiki, lalu kirim ulang.",
        "Check the birth date on your ID card, correct it, then send it again.",
        can_retry=True,
    ),
    "NIK_TAKEN": Reason(
        "NIK ini sudah terdaftar pada akun lain. Satu NIK hanya untuk satu akun.",
        "This NIK is already registered to another account. One NIK is one account.",
        "Jika Anda punya akun lain, masuk dengan akun itu. Jika Anda tidak pernah mendaftar, NIK "
        "Anda mungkin dipakai orang lain: ajukan pengaduan (kategori Verifikasi) agar kami "
        "memeriksanya.",
        "If you have another account, sign in with it. If you never signed up before, someone "
        "may be using your NIK: file a complaint (category Verification) so that we look into it.",
    ),
    "DECEASED": Reason(
        "Data kependudukan mencatat pemilik NIK ini telah meninggal dunia.",
        "The population registry records the holder of this NIK as deceased.",
        "Jika ini keliru, hubungi Dinas Dukcapil setempat untuk memperbaiki data.",
        "If this is wrong, contact your local civil registry office to correct it.",
    ),
    "UNDER_AGE": Reason(
        "Usia minimal peserta adalah {min_age} tahun.",
        "Participants must be at least {min_age} years old.",
        "Anda dapat mendaftar lagi setelah berusia {min_age} tahun.",
        "You can apply once you are {min_age}.",
    ),
    "IN_SCHOOL": Reason(
        "Peserta tidak boleh sedang menempuh pendidikan formal.",
        "Participants may not be in formal education.",
        "Jika Anda sudah tidak bersekolah atau kuliah, perbarui data Anda di profil.",
        "If you are no longer in school or university, update your profile.",
    ),
    "EXCLUDED": Reason(
        "NIK Anda termasuk daftar yang tidak dapat mengikuti program ({category}).",
        "Your NIK is on a list of people who cannot join the program ({category}).",
        "Jika menurut Anda ini keliru, ajukan pengaduan.",
        "If you believe this is wrong, file a complaint.",
    ),
    "FACE_MISMATCH": Reason(
        "Swafoto tidak cocok dengan foto di data kependudukan.",
        "The selfie does not match the photo in the population registry.",
        "Coba lagi dengan cahaya yang cukup dan wajah terlihat jelas.",
        "Try again in good light with your face clearly visible.",
        can_retry=True,
    ),
}


def reason_text(code: str, language: str, **params: object) -> tuple[str, str]:
    """(what happened, what to do) for a reason code, in the person's language."""
    reason = REASONS.get(code)
    if reason is None:
        return code, ""
    happened, todo = reason.text(language)
    return happened.format(**params), todo.format(**params)
