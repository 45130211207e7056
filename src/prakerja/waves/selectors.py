from typing import TYPE_CHECKING

from prakerja.common.errors import NotFound
from prakerja.waves.models import ProgramScheme

if TYPE_CHECKING:
    from prakerja.waves.models import Wave, WaveApplication


class NoActiveScheme(NotFound):
    code = "NO_ACTIVE_SCHEME"
    message_id = "Belum ada skema program yang aktif. Hubungi admin program."
    message_en = "No program scheme is active. Ask a program administrator to activate one."


def scheme_active() -> ProgramScheme:
    scheme = ProgramScheme.objects.filter(is_active=True).first()
    if scheme is None:
        raise NoActiveScheme()
    return scheme


def wave_open() -> "Wave | None":
    from prakerja.waves.models import Wave, WaveStatus

    return Wave.objects.filter(status=WaveStatus.OPEN).select_related("scheme").first()


def registrant_applications(registrant_id: int) -> list["WaveApplication"]:
    from prakerja.waves.models import WaveApplication

    return list(
        WaveApplication.objects.filter(registrant_id=registrant_id)
        .select_related("wave")
        .order_by("-wave__number")
    )
