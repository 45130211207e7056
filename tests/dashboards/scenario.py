"""A small simulated 2020 (about 1.200 registrants through the services: registration, waves,
orders, accounts, incentives, surveys, disbursement) as the dashboards' scenario."""

import io

from django.core.management import call_command

from prakerja.waves.models import ProgramScheme

SCALE = "0.00005"
SEED = "2020"


def scheme_2020() -> None:
    """The 2020 scheme as its data migration writes it: a transactional test that ran before
    may have flushed it away."""
    ProgramScheme.objects.get_or_create(
        code="2020", defaults={"name": "Kartu Prakerja 2020", "is_active": True}
    )


def simulate(*, stop_after: str | None = None) -> str:
    out = io.StringIO()
    args = ["simulate", "--scale", SCALE, "--seed", SEED, "--no-progress"]
    if stop_after:
        args += ["--stop-after", stop_after]
    call_command(*args, stdout=out)
    return out.getvalue()
