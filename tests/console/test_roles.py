"""Roles: groups written from console/roles.py after migrate, incompatible roles refused with nothing
changed, roles set only through the audited service (the admin's roles page, the CLI)."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.console.errors import RolesIncompatible, RolesSelfChange, RoleUnknown
from prakerja.console.roles import ROLES, missing_permissions, roles_of, roles_sync
from prakerja.console.services import operator_roles_set
from tests.operators import operator_login

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")


def group_permissions(code: str) -> list[str]:
    return sorted(
        f"{app}.{codename}"
        for app, codename in Permission.objects.filter(group__name=f"role:{code}").values_list(
            "content_type__app_label", "codename"
        )
    )


def state(user: User) -> tuple[list[str], bool, int]:
    return roles_of(user), User.objects.get(pk=user.pk).is_staff, AuditEvent.objects.count()


def test_every_role_is_a_group_and_names_only_permissions_that_exist():
    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(
        f"role:{role.code}" for role in ROLES
    )
    assert missing_permissions() == {}


def test_the_checker_approves_and_sees_the_money_but_prepares_nothing():
    assert group_permissions("finance_checker") == [
        "console.view_dashboards",
        "incentives.approve_run",
        "incentives.view_disbursementrun",
        "incentives.view_entitlement",
        "incentives.view_paymentaccount",
        "incentives.view_statement",
        "incentives.view_statementitem",
        "incentives.view_transferbatch",
        "incentives.view_transferinstruction",
        "ledger.view_account",
        "ledger.view_balance",
        "ledger.view_leg",
        "ledger.view_transaction",
    ]
    assert group_permissions("support") == [
        "console.lookup_participant",
        "console.view_dashboards",
        "grievances.change_complaint",
        "grievances.view_complaint",
    ]


def test_a_sync_puts_back_a_permission_removed_by_hand():
    group = Group.objects.get(name="role:finance_maker")
    group.permissions.remove(Permission.objects.get(codename="prepare_run"))
    roles_sync()
    assert "incentives.prepare_run" in group_permissions("finance_maker")


def test_roles_are_set_and_the_change_is_audited():
    user = User.objects.create_user("budi", password="x")
    operator_roles_set(user=user, roles=["verifier", "support"], actor=SYSTEM)
    operator_roles_set(user=user, roles=["support"], actor=SYSTEM)

    assert roles_of(user) == ["support"]
    assert User.objects.get(pk=user.pk).is_staff is True
    events = AuditEvent.objects.filter(event_type="operator.roles_set").order_by("pk")
    assert [(e.actor_label, e.subject_id, e.details) for e in events] == [
        (
            "system:tests",
            str(user.pk),
            {"username": "budi", "before": [], "after": ["verifier", "support"]},
        ),
        (
            "system:tests",
            str(user.pk),
            {"username": "budi", "before": ["verifier", "support"], "after": ["support"]},
        ),
    ]


@pytest.mark.parametrize(
    ("roles", "pairs"),
    [
        (["finance_maker", "finance_checker"], [["finance_checker", "finance_maker"]]),
        (["auditor", "support"], [["auditor", "support"]]),
        (
            ["auditor", "finance_maker", "finance_checker"],
            [
                ["auditor", "finance_checker"],
                ["auditor", "finance_maker"],
                ["finance_checker", "finance_maker"],
            ],
        ),
    ],
)
def test_incompatible_roles_are_refused_and_nothing_changes(roles, pairs):
    user = User.objects.create_user("budi", password="x")
    operator_roles_set(user=user, roles=["finance_maker"], actor=SYSTEM)
    before = state(user)

    with pytest.raises(RolesIncompatible) as refused:
        operator_roles_set(user=user, roles=roles, actor=SYSTEM)

    assert refused.value.code == "ROLES_INCOMPATIBLE"
    assert refused.value.details == {"pairs": pairs}
    assert state(user) == before


def test_an_unknown_role_and_a_change_of_ones_own_roles_are_refused():
    user = User.objects.create_user("budi", password="x", is_staff=True)
    before = state(user)
    with pytest.raises(RoleUnknown) as unknown:
        operator_roles_set(user=user, roles=["boss"], actor=SYSTEM)
    with pytest.raises(RolesSelfChange):
        operator_roles_set(user=user, roles=["auditor"], actor=Actor.for_user(user))
    assert unknown.value.details == {"unknown": ["boss"]}
    assert state(user) == before


def _superuser_client() -> Client:
    boss = User.objects.create_superuser("boss", "boss@prakerja.example", "x")
    return operator_login(Client(), boss)


def test_the_roles_page_sets_roles_through_the_service():
    client = _superuser_client()
    user = User.objects.create_user("sari", password="x")
    url = reverse("admin:auth_user_roles", args=[user.pk])

    assert client.get(url).status_code == 200
    answer = client.post(url, {"roles": ["partner_manager"]})

    assert answer.status_code == 302
    assert answer["Location"] == reverse("admin:auth_user_change", args=[user.pk])
    assert roles_of(user) == ["partner_manager"]
    event = AuditEvent.objects.get(event_type="operator.roles_set")
    assert (event.actor_label, event.details["after"]) == ("user:boss", ["partner_manager"])


def test_the_roles_page_shows_an_incompatible_choice_and_changes_nothing():
    client = _superuser_client()
    user = User.objects.create_user("sari", password="x")
    operator_roles_set(user=user, roles=["finance_checker"], actor=SYSTEM)
    before = roles_of(user), AuditEvent.objects.exclude(event_type="console.action").count()

    answer = client.post(
        reverse("admin:auth_user_roles", args=[user.pk]),
        {"roles": ["finance_maker", "finance_checker"]},
    )

    assert answer.status_code == 200
    assert answer.context["form"].non_field_errors()[0].startswith("ROLES_INCOMPATIBLE — ")
    after = roles_of(user), AuditEvent.objects.exclude(event_type="console.action").count()
    assert after == before


def test_the_user_form_no_longer_edits_groups_or_single_permissions():
    client = _superuser_client()
    user = User.objects.create_user("sari", password="x")
    page = client.get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()
    assert 'name="groups"' not in page
    assert 'name="user_permissions"' not in page
    assert reverse("admin:auth_user_roles", args=[user.pk]) in page


def test_the_cli_creates_an_operator_with_roles_and_an_authenticator():
    out = StringIO()
    call_command(
        "operators", "create", "rina", "--role", "verifier", "--email", "r@x.id", stdout=out
    )
    printed = out.getvalue()

    user = User.objects.get(username="rina")
    device = TOTPDevice.objects.get(user=user)
    assert (user.is_staff, user.email, roles_of(user), device.confirmed) == (
        True,
        "r@x.id",
        ["verifier"],
        True,
    )
    assert "otpauth://totp/Prakerja%3Arina?secret=" in printed
    assert device.config_url in printed
    assert "password (shown once" in printed

    call_command("operators", "totp", "rina", stdout=StringIO())
    assert TOTPDevice.objects.get(user=user).key != device.key  # the old key stops working

    call_command("operators", "roles", "rina", "--role", "support", stdout=StringIO())
    assert roles_of(user) == ["support"]


def test_the_cli_refuses_incompatible_roles_and_changes_nothing():
    call_command("operators", "create", "rina", "--role", "finance_maker", stdout=StringIO())
    user = User.objects.get(username="rina")
    before = state(user)
    with pytest.raises(CommandError, match="ROLES_INCOMPATIBLE"):
        call_command(
            "operators",
            "roles",
            "rina",
            "--role",
            "finance_maker",
            "--role",
            "finance_checker",
            stdout=StringIO(),
        )
    with pytest.raises(CommandError, match="OPERATOR_UNKNOWN"):
        call_command("operators", "totp", "nobody", stdout=StringIO())
    assert state(user) == before
