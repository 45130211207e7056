"""What participants are told about selection and the first-purchase window, in their language."""

from prakerja.common.money import format_rupiah
from prakerja.common.timeutil import format_wib
from prakerja.notifications.messages import Text, message
from prakerja.notifications.models import Notification
from prakerja.waves.models import Participant, Wave


def _participant(notification: Notification) -> Participant:
    return Participant.objects.select_related("wave", "scheme").get(
        pk=notification.params["subject"]
    )


@message("wave_selected")
def wave_selected(notification: Notification) -> Text:
    p = _participant(notification)
    balance = format_rupiah(p.scheme.training_balance_idr)
    if notification.registrant.language == "en":
        deadline = format_wib(p.purchase_deadline, language="en")
        sms = (
            f"Kartu Prakerja: congratulations, you were selected in wave {p.wave.number}. "
            f"Card {p.card_number}, training balance {balance}. Buy your first training "
            f"by {deadline} or your membership is revoked."
        )
        return Text(
            sms=sms,
            subject=f"You were selected for Kartu Prakerja, wave {p.wave.number}",
            body=sms + "\n\nSign in to see your card and choose a training.",
        )
    deadline = format_wib(p.purchase_deadline)
    sms = (
        f"Kartu Prakerja: selamat, Anda lolos gelombang {p.wave.number}. "
        f"Kartu {p.card_number}, saldo pelatihan {balance}. Beli pelatihan pertama "
        f"sebelum {deadline} agar kepesertaan tidak dicabut."
    )
    return Text(
        sms=sms,
        subject=f"Selamat, Anda lolos Kartu Prakerja gelombang {p.wave.number}",
        body=sms + "\n\nMasuk ke akun Anda untuk melihat kartu dan memilih pelatihan.",
    )


@message("purchase_reminder")
def purchase_reminder(notification: Notification) -> Text:
    p = _participant(notification)
    days = int(notification.params["days"])
    if notification.registrant.language == "en":
        deadline = format_wib(p.purchase_deadline, language="en")
        sms = (
            f"Kartu Prakerja: {days} day(s) left. Buy your first training by {deadline}, "
            "or your membership is revoked and cannot be renewed."
        )
        return Text(sms=sms, subject=f"{days} day(s) left to buy your first training", body=sms)
    deadline = format_wib(p.purchase_deadline)
    sms = (
        f"Kartu Prakerja: sisa {days} hari. Beli pelatihan pertama sebelum {deadline}, "
        "atau kepesertaan dicabut dan tidak dapat diikuti lagi."
    )
    return Text(sms=sms, subject=f"Sisa {days} hari untuk membeli pelatihan pertama", body=sms)


@message("participant_revoked")
def participant_revoked(notification: Notification) -> Text:
    p = _participant(notification)
    if notification.registrant.language == "en":
        deadline = format_wib(p.purchase_deadline, language="en")
        sms = (
            f"Kartu Prakerja: no training was bought by {deadline}, so your membership is "
            "revoked. The balance went back to the state and this NIK cannot join again."
        )
        return Text(sms=sms, subject="Your Kartu Prakerja membership is revoked", body=sms)
    deadline = format_wib(p.purchase_deadline)
    sms = (
        f"Kartu Prakerja: tidak ada pembelian pelatihan sampai {deadline}, kepesertaan Anda "
        "dicabut. Saldo dikembalikan ke negara dan NIK ini tidak dapat ikut lagi."
    )
    return Text(sms=sms, subject="Kepesertaan Kartu Prakerja Anda dicabut", body=sms)


@message("wave_postponed")
def wave_postponed(notification: Notification) -> Text:
    wave = Wave.objects.get(pk=notification.params["subject"])
    if notification.registrant.language == "en":
        sms = (
            f"Kartu Prakerja: wave {wave.number} is postponed. Your application stays. New dates: "
            f"{format_wib(wave.opens_at, language='en')} to "
            f"{format_wib(wave.closes_at, language='en')}."
        )
        return Text(sms=sms, subject=f"Kartu Prakerja: wave {wave.number} postponed", body=sms)
    sms = (
        f"Kartu Prakerja: gelombang {wave.number} ditunda. Pendaftaran Anda tetap tercatat. "
        f"Jadwal baru: {format_wib(wave.opens_at)} sampai {format_wib(wave.closes_at)}."
    )
    return Text(sms=sms, subject=f"Kartu Prakerja: gelombang {wave.number} ditunda", body=sms)


@message("wave_cancelled")
def wave_cancelled(notification: Notification) -> Text:
    wave = Wave.objects.get(pk=notification.params["subject"])
    if notification.registrant.language == "en":
        sms = f"Kartu Prakerja: wave {wave.number} is cancelled. You can apply to the next wave."
        return Text(sms=sms, subject=f"Kartu Prakerja: wave {wave.number} cancelled", body=sms)
    sms = (
        f"Kartu Prakerja: gelombang {wave.number} dibatalkan. "
        "Anda dapat mendaftar di gelombang berikutnya."
    )
    return Text(sms=sms, subject=f"Kartu Prakerja: gelombang {wave.number} dibatalkan", body=sms)
