"""The operators' roles (issue 9): each is a Django group whose permissions come from this table,
written by `roles_sync` after every migrate (and every flush, which emits post_migrate too), so the
table in code is the only place a role's rights are decided.

Permissions are named as strings: an app added later (grievances) may not have its permissions yet
when an earlier app's post_migrate runs; those are skipped then and granted by the next sync. A test
fails if a role names a permission that does not exist once every app is installed.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import AppConfig, apps
from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Every model's view permission, for the auditor; sessions hold sign-in secrets, not records.
ALL_VIEW = "*.view_*"
VIEW_EXCLUDED_APPS = frozenset({"sessions"})

DASHBOARDS = "console.view_dashboards"
AUDIT_LOG = "console.view_audit_log"
LOOKUP = "console.lookup_participant"
UNMASK = "console.unmask_personal_data"


@dataclass(frozen=True)
class Role:
    code: str
    label_id: str
    label_en: Any  # lazy: shown in the operator's language
    permissions: frozenset[str]

    @property
    def group_name(self) -> str:
        return f"role:{self.code}"


def _views(app: str, *models: str) -> set[str]:
    return {f"{app}.view_{model}" for model in models}


_FINANCE_VIEWS = {
    *_views(
        "incentives",
        "disbursementrun",
        "transferbatch",
        "transferinstruction",
        "statement",
        "statementitem",
        "entitlement",
        "paymentaccount",
    ),
    *_views("ledger", "account", "transaction", "balance", "leg"),
    DASHBOARDS,
}

ROLES: tuple[Role, ...] = (
    Role(
        "program_admin",
        "Admin program",
        _("Program admin"),
        frozenset(
            {
                "waves.view_programscheme",
                "waves.add_programscheme",
                "waves.change_programscheme",
                "waves.view_wave",
                "waves.add_wave",
                "waves.change_wave",
                "waves.view_waveapplication",
                "waves.view_participant",
                "waves.view_priorityentry",
                "registration.view_registrant",
                "registration.view_exclusionimport",
                "registration.add_exclusionimport",
                "registration.view_exclusionentry",
                "grievances.view_complaint",
                DASHBOARDS,
                AUDIT_LOG,
                LOOKUP,
                UNMASK,
            }
        ),
    ),
    Role(
        "verifier",
        "Verifikator",
        _("Verifier"),
        frozenset(
            {
                "registration.view_registrant",
                "registration.view_verificationstep",
                "registration.view_exclusionimport",
                "registration.add_exclusionimport",
                "registration.view_exclusionentry",
                DASHBOARDS,
                LOOKUP,
                UNMASK,
            }
        ),
    ),
    Role(
        "finance_maker",
        "Keuangan (pembuat)",
        _("Finance maker"),
        frozenset({"incentives.prepare_run", "incentives.reconcile_statement", *_FINANCE_VIEWS}),
    ),
    Role(
        "finance_checker",
        "Keuangan (pemeriksa)",
        _("Finance checker"),
        frozenset({"incentives.approve_run", *_FINANCE_VIEWS}),
    ),
    Role(
        "partner_manager",
        "Pengelola mitra",
        _("Partner manager"),
        frozenset(
            {
                "partners.view_partner",
                "partners.change_partner",
                "partners.view_partnersecret",
                "partners.view_outboundevent",
                "partners.change_outboundevent",
                "partners.view_deliveryattempt",
                "catalog.view_institution",
                "catalog.change_institution",
                "catalog.view_training",
                "catalog.change_training",
                "orders.view_review",
                "orders.view_settlement",
                "orders.change_settlement",
                DASHBOARDS,
            }
        ),
    ),
    Role(
        "support",
        "Layanan pengaduan",
        _("Support"),
        frozenset({"grievances.view_complaint", "grievances.change_complaint", LOOKUP, DASHBOARDS}),
    ),
    Role(
        "auditor",
        "Auditor",
        _("Auditor (read-only)"),
        frozenset({ALL_VIEW, AUDIT_LOG, DASHBOARDS, LOOKUP}),
    ),
)

ROLES_BY_CODE: dict[str, Role] = {role.code: role for role in ROLES}

# Pairs no one may hold together: the four-eyes rule of disbursement, and an auditor who audits
# only what others did.
INCOMPATIBLE: tuple[frozenset[str], ...] = (
    frozenset({"finance_maker", "finance_checker"}),
    *(frozenset({"auditor", role.code}) for role in ROLES if role.code != "auditor"),
)


def incompatible_pairs(codes: Iterable[str]) -> list[tuple[str, str]]:
    held = set(codes)
    return sorted(tuple(sorted(pair)) for pair in INCOMPATIBLE if pair <= held)  # type: ignore[misc]


def _split(name: str) -> tuple[str, str]:
    app_label, codename = name.split(".", 1)
    return app_label, codename


def role_permission_names(role: Role) -> set[str]:
    """The role's permissions as `app.codename`, the auditor's wildcard spelled out from the
    permissions that exist now."""
    names = {name for name in role.permissions if name != ALL_VIEW}
    if ALL_VIEW in role.permissions:
        names |= {
            f"{app}.{codename}"
            for app, codename in Permission.objects.filter(codename__startswith="view_")
            .exclude(content_type__app_label__in=VIEW_EXCLUDED_APPS)
            .values_list("content_type__app_label", "codename")
        }
    return names


def _permissions(names: set[str], using: str) -> list[Permission]:
    if not names:
        return []
    wanted = Q()
    for name in names:
        app_label, codename = _split(name)
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.using(using).filter(wanted))


def roles_sync(using: str = DEFAULT_DB_ALIAS) -> None:
    """Create or update one group per role with exactly the table's permissions that exist."""
    for role in ROLES:
        group, _created = Group.objects.using(using).get_or_create(name=role.group_name)
        group.permissions.set(_permissions(role_permission_names(role), using))


def missing_permissions() -> dict[str, list[str]]:
    """Permissions a role names that no installed app defines (a test keeps this empty)."""
    existing = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    return {
        role.code: sorted(missing)
        for role in ROLES
        if (missing := role_permission_names(role) - existing)
    }


def _last_app_with_models() -> str:
    return [config.label for config in apps.get_app_configs() if config.models_module][-1]


def sync_after_migrate(sender: AppConfig, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    # After the last app's post_migrate every app's permissions exist (auth creates them per app).
    if sender.label == _last_app_with_models():
        roles_sync(using)


def roles_of(user: Any) -> list[str]:
    """The role codes a user holds, in the table's order."""
    names = set(user.groups.values_list("name", flat=True)) if user.pk else set()
    return [role.code for role in ROLES if role.group_name in names]
