"""The demo's seed: program accounts, the operator login, and (as later issues add them) a small
program's worth of data. Safe to run again: everything is get-or-create or keyed."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from prakerja.ledger.models import SYSTEM_KINDS, AccountKind
from prakerja.ledger.services import account_get_or_create

DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "prakerja-demo-2020"  # noqa: S105 - printed on purpose: demo only, localhost


@dataclass(frozen=True)
class Login:
    role: str
    username: str
    password: str


def demo_seed() -> list[Login]:
    with transaction.atomic():
        for kind in sorted(SYSTEM_KINDS):
            account_get_or_create(kind=AccountKind(kind))
        user_model = get_user_model()
        admin = user_model.objects.filter(username=DEMO_ADMIN_USERNAME).first()
        if admin is None:
            user_model.objects.create_superuser(
                username=DEMO_ADMIN_USERNAME,
                email="admin@prakerja.test",
                password=DEMO_ADMIN_PASSWORD,
            )
    return [Login("program admin (Django admin)", DEMO_ADMIN_USERNAME, DEMO_ADMIN_PASSWORD)]
