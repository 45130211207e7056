from prakerja.common.errors import NotFound
from prakerja.waves.models import ProgramScheme


class NoActiveScheme(NotFound):
    code = "NO_ACTIVE_SCHEME"
    message_id = "Belum ada skema program yang aktif. Hubungi admin program."
    message_en = "No program scheme is active. Ask a program administrator to activate one."


def scheme_active() -> ProgramScheme:
    scheme = ProgramScheme.objects.filter(is_active=True).first()
    if scheme is None:
        raise NoActiveScheme()
    return scheme
