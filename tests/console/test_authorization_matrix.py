"""Authorization matrix (issue 9): every role × every console page and action, allowed or refused.

Every named URL under /admin/ and /console/ is found by walking the URL resolver, and the test fails
if one is not declared below: a new page gets its row (url name → the permissions that open it,
any one of them) before it ships. Each role is an operator holding exactly that role, signed in with
the second factor. Allowed pages answer (not 403, not the login page); refused ones answer 403 —
and a refused POST, of any page, changes nothing in the database (every table compared, the audit
log without its console.action rows, which record the refusal itself).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from prakerja.audit.models import AuditEvent
from prakerja.common.actors import Actor
from prakerja.console.roles import ROLES
from prakerja.console.services import operator_roles_set
from prakerja.grievances.services import complaint_file
from prakerja.incentives.models import DisbursementRun, Entitlement, PaymentAccount, Statement
from prakerja.orders.models import Settlement
from prakerja.partners.models import OutboundEvent, PartnerKind
from prakerja.partners.services import partner_create
from prakerja.registration.models import ExclusionEntry, ExclusionImport
from prakerja.waves.models import Participant, PriorityEntry
from tests.grievances.kit import png
from tests.operators import operator_login
from tests.orders.kit import active_training, credited, platform, scheme_valid_for_a_year

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
ANY_OPERATOR = frozenset({"*"})  # every signed-in operator, whatever their roles
NOBODY = frozenset()  # refused to every role (only a superuser, or nobody at all)
DASHBOARDS = "console.view_dashboards"
AUDIT_LOG = "console.view_audit_log"
LOOKUP = "console.lookup_participant"


def perms(*names: str) -> frozenset[str]:
    return frozenset(names)


@dataclass(frozen=True)
class Page:
    """Who opens one URL: any one of `allow` (`app.*` = any permission of the app). `post_only`
    pages answer GET with 405 to everyone, so they are checked by POST. `refused` is the status a
    refused operator gets."""

    allow: frozenset[str]
    post_only: bool = False
    refused: int = 403
    object_of: str = ""  # the model whose object the URL names (object_id)
    kwargs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Model:
    """A model admin's five generic pages: view opens the list, each object and its history."""

    view: frozenset[str]
    add: frozenset[str] = NOBODY
    delete: frozenset[str] = NOBODY


def default(label: str) -> Model:
    """Django's own rules for a plain ModelAdmin."""
    app, model = label.split(".")
    return Model(
        view=perms(f"{app}.view_{model}", f"{app}.change_{model}"),
        add=perms(f"{app}.add_{model}"),
        delete=perms(f"{app}.delete_{model}"),
    )


def read_only(label: str, *also: str) -> Model:
    """ReadOnlyAdmin: seen with the view (or change) permission, never added or deleted here."""
    app, model = label.split(".")
    return Model(view=perms(f"{app}.view_{model}", f"{app}.change_{model}", *also))


# --- the table: one line per model admin, one line per page of its own ------------------------------

MODELS: dict[str, Model] = {
    "auth.group": default("auth.group"),
    "auth.user": default("auth.user"),
    "otp_totp.totpdevice": default("otp_totp.totpdevice"),
    "otp_static.staticdevice": default("otp_static.staticdevice"),
    "audit.auditevent": read_only("audit.auditevent", AUDIT_LOG),
    "ledger.account": read_only("ledger.account"),
    "ledger.transaction": read_only("ledger.transaction"),
    "waves.programscheme": Model(
        view=perms("waves.view_programscheme", "waves.change_programscheme"),
        add=perms("waves.add_programscheme"),
    ),
    "waves.wave": Model(
        view=perms("waves.view_wave", "waves.change_wave"), add=perms("waves.add_wave")
    ),
    "waves.participant": read_only("waves.participant"),
    "waves.priorityentry": read_only("waves.priorityentry"),
    "registration.exclusionimport": read_only("registration.exclusionimport"),
    "registration.exclusionentry": read_only("registration.exclusionentry"),
    "registration.registrant": read_only("registration.registrant"),
    "partners.partner": read_only("partners.partner"),
    "partners.outboundevent": read_only("partners.outboundevent"),
    "catalog.training": read_only("catalog.training"),
    "catalog.institution": read_only("catalog.institution"),
    "orders.review": read_only("orders.review"),
    "orders.settlement": read_only("orders.settlement"),
    "incentives.disbursementrun": read_only(
        "incentives.disbursementrun", "incentives.prepare_run", "incentives.approve_run"
    ),
    "incentives.statement": read_only("incentives.statement", "incentives.reconcile_statement"),
    "incentives.paymentaccount": read_only("incentives.paymentaccount"),
    "incentives.entitlement": read_only("incentives.entitlement"),
    "incentives.transferinstruction": read_only("incentives.transferinstruction"),
    # Declared from the code as it stood when this table was written; their owners confirm.
    "grievances.complaint": read_only("grievances.complaint"),
    "dashboards.dashboardslink": Model(view=perms(DASHBOARDS)),
}

RUN = "incentives.disbursementrun"
PAGES: dict[str, Page] = {
    "admin:index": Page(ANY_OPERATOR),
    "admin:login": Page(ANY_OPERATOR),  # a signed-in operator is sent on to the index
    "admin:password_change": Page(ANY_OPERATOR),
    "admin:password_change_done": Page(ANY_OPERATOR),
    "admin:jsi18n": Page(ANY_OPERATOR),
    "admin:view_on_site": Page(ANY_OPERATOR),  # no model has a public page: 404 for all
    "admin:auth_user_roles": Page(perms("auth.change_user"), object_of="auth.user"),
    "admin:auth_user_password_change": Page(perms("auth.change_user"), object_of="auth.user"),
    # An operator's key is never shown again after enrolment, not even to a superuser.
    "admin:otp_totp_totpdevice_config": Page(NOBODY, object_of="otp_totp.totpdevice"),
    "admin:otp_totp_totpdevice_qrcode": Page(NOBODY, object_of="otp_totp.totpdevice"),
    "admin:audit_auditevent_export": Page(perms("audit.view_auditevent", AUDIT_LOG)),
    "admin:waves_wave_inputs": Page(perms("waves.view_wave"), object_of="waves.wave"),
    **{
        f"admin:waves_wave_{action}": Page(
            perms("waves.change_wave"), post_only=True, object_of="waves.wave"
        )
        for action in ("open", "close", "select", "announce", "postpone", "cancel")
    },
    "admin:registration_exclusionimport_upload": Page(perms("registration.add_exclusionimport")),
    "admin:orders_review_evaluation": Page(perms("catalog.view_training")),
    "admin:incentives_disbursementrun_prepare": Page(perms("incentives.prepare_run")),
    "admin:incentives_disbursementrun_failures": Page(MODELS[RUN].view),
    "admin:incentives_disbursementrun_approve": Page(
        perms("incentives.approve_run"), post_only=True, object_of=RUN
    ),
    "admin:incentives_disbursementrun_cancel": Page(
        perms("incentives.prepare_run"), post_only=True, object_of=RUN
    ),
    "admin:incentives_statement_upload": Page(perms("incentives.reconcile_statement")),
    **{
        f"admin:grievances_complaint_{step}": Page(
            perms("grievances.change_complaint"), post_only=True, object_of="grievances.complaint"
        )
        for step in ("triage", "assign", "resolve", "reject")
    },
    "admin:grievances_complaint_attachment": Page(
        MODELS["grievances.complaint"].view, object_of="grievances.complaint"
    ),
    # /console/
    "dashboards:index": Page(perms(DASHBOARDS)),
    "dashboards:page": Page(perms(DASHBOARDS), kwargs=(("slug", "pendaftaran"),)),
    "console_lookup:search": Page(perms(LOOKUP)),
    "console_lookup:timeline": Page(perms(LOOKUP), object_of="registration.registrant"),
}

# Pages not requested here, each with the reason.
NOT_REQUESTED = {
    "admin:logout": "signs the operator out (tests/console/test_otp.py)",
    "admin:autocomplete": "no admin declares autocomplete fields",
}

# Admin actions (POST to a changelist): offered only to holders of the permission; anyone else
# posting them changes nothing.
ACTIONS: dict[tuple[str, str], tuple[frozenset[str], dict[str, Any]]] = {
    ("partners.partner", "suspend"): (perms("partners.change_partner"), {"reason": "audit"}),
    ("partners.partner", "activate"): (perms("partners.change_partner"), {}),
    ("catalog.training", "approve"): (perms("catalog.change_training"), {}),
    ("catalog.training", "reject"): (perms("catalog.change_training"), {"reason": "x"}),
    ("catalog.training", "suspend"): (perms("catalog.change_training"), {"reason": "x"}),
    ("catalog.training", "reinstate"): (perms("catalog.change_training"), {}),
    ("orders.settlement", "mark_paid"): (
        perms("orders.change_settlement"),
        {"payment_reference": "TRF-1"},
    ),
    ("partners.outboundevent", "retry_now"): (perms("partners.change_outboundevent"), {}),
}

# Models whose objects this test's small program has none of: their history page cannot tell
# refused from allowed without one (Django redirects first), so only list, add, change and delete
# are checked for them.
NO_OBJECT = {
    "orders.review",
    "incentives.transferinstruction",
    "dashboards.dashboardslink",  # no table: only the admin index's way to the dashboards
}

# Apps listed on the index for a console permission besides their own.
APP_LIST_ALSO = {"audit": (AUDIT_LOG,), "dashboards": (DASHBOARDS,)}

GENERIC = ("changelist", "add", "change", "delete", "history")


# --- the URLs that exist --------------------------------------------------------------------------


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield prefix + str(pattern.pattern), namespace + pattern.name


def console_url_names() -> set[str]:
    return {
        name
        for route, name in _walk(get_resolver().url_patterns)
        if route.startswith(("admin/", "console/"))
    }


def registered_models() -> set[str]:
    return {model._meta.label_lower for model in admin.site._registry}


def generic_names() -> dict[str, tuple[str, str]]:
    """admin:<app>_<model>_<view> → (model label, view) for every registered model."""
    names = {}
    for label in registered_models():
        app, model = label.split(".")
        for view in GENERIC:
            names[f"admin:{app}_{model}_{view}"] = (label, view)
    return names


def test_every_console_url_is_declared_in_the_matrix():
    generic = generic_names()
    declared = set(PAGES) | set(NOT_REQUESTED) | {"admin:app_list"} | set(generic)
    undeclared = sorted(console_url_names() - declared)
    assert undeclared == [], "declare these console URLs in PAGES (one line each)"
    assert sorted(registered_models() - set(MODELS)) == [], "declare these model admins in MODELS"
    assert sorted(set(PAGES) - console_url_names()) == [], "rows for URLs that no longer exist"


# --- a small program, and one operator per role --------------------------------------------------


@dataclass
class World:
    objects: dict[str, str]  # model label → pk of one object
    training_pk: int


def _world() -> World:
    scheme_valid_for_a_year()
    seller, _ = platform("tokopedia")
    training = active_training(seller, "t1")
    person = credited(1)[0]
    bank, _ = partner_create(code="bni", name="BNI", kind=PartnerKind.INSTITUTION, actor=SYSTEM)
    today = timezone.localdate()
    PaymentAccount.objects.create(
        participant=person,
        institution=bank,
        account_type="e_wallet",
        account_number=person.registrant.phone,
    )
    Entitlement.objects.create(
        participant=person, kind="incentive", sequence=1, amount_idr=600_000, due_on=today
    )
    DisbursementRun.objects.create(run_date=today, prepared_by="user:somebody-else")
    Statement.objects.create(
        institution=bank, statement_date=today, source="csv", received_by="user:x"
    )
    Settlement.objects.create(
        platform=seller,
        period="2020-05",
        order_count=0,
        amount_idr=0,
        prepared_by="system:tests",
    )
    ExclusionEntry.objects.create(nik_index="a" * 64, category="pns")
    ExclusionImport.objects.create(category="pns", file_name="pns.csv", actor="user:x")
    PriorityEntry.objects.create(group="pmi", nik_index="b" * 64)
    complaint_file(
        registrant=person.registrant,
        category="payment",
        text="Insentif saya belum masuk ke dompet digital.",
        attachment=png(),
        attachment_name="bukti.png",
        actor=Actor.participant(person.registrant_id),
    )
    someone = User.objects.create_user("someone")
    StaticDevice.objects.create(user=someone, name="backup")
    TOTPDevice.objects.create(user=someone, name="authenticator")
    assert OutboundEvent.objects.exists() and Participant.objects.exists()
    objects = {}
    for label in registered_models():
        model = apps.get_model(label)
        if not model._meta.managed:
            continue
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        if first is not None:
            objects[label] = str(first)
    assert sorted(registered_models() - set(objects)) == sorted(NO_OBJECT)
    return World(objects, training.pk)


def operator(code: str | None) -> Client:
    user = User.objects.create_user(f"op-{code or 'none'}", password="x", is_staff=True)
    if code:
        operator_roles_set(user=user, roles=[code], actor=SYSTEM)
    return operator_login(Client(), user)


def held(client: Client) -> set[str]:
    user = User.objects.get(pk=client.session["_auth_user_id"])
    return {
        f"{app}.{codename}"
        for app, codename in Permission.objects.filter(group__user=user).values_list(
            "content_type__app_label", "codename"
        )
    }


def allows(allow: frozenset[str], holding: set[str]) -> bool:
    if allow == ANY_OPERATOR:
        return True
    apps_held = {name.split(".")[0] for name in holding}
    return any(
        name in holding or (name.endswith(".*") and name[:-2] in apps_held) for name in allow
    )


def database_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (this program is small), but sessions (signing in writes them)
    and the audit log's records of console requests (a refusal is recorded, by design)."""
    state = {}
    for model in apps.get_models():
        meta = model._meta
        if not meta.managed or meta.proxy or meta.label_lower == "sessions.session":
            continue
        rows = model._default_manager.order_by("pk")
        if model is AuditEvent:
            rows = rows.exclude(event_type="console.action")
        state[meta.label_lower] = list(rows.values_list())
    return state


def _url(name: str, page: Page, world: World) -> str:
    if name == "admin:view_on_site":
        user_type = ContentType.objects.get_for_model(User).pk
        return reverse(name, args=[user_type, world.objects["auth.user"]])
    if page.object_of:
        return reverse(name, args=[world.objects.get(page.object_of, "0")])
    return reverse(name, kwargs=dict(page.kwargs))


def _generic_url(name: str, label: str, view: str, world: World) -> str | None:
    if view in ("changelist", "add"):
        return reverse(name)
    if apps.get_model(label)._meta.managed is False:
        return None  # no table: its object pages are never linked (and would fail)
    if label in NO_OBJECT:
        return None if view == "history" else reverse(name, args=["0"])
    return reverse(name, args=[world.objects[label]])


def _generic_access(label: str, view: str) -> frozenset[str]:
    model = MODELS[label]
    return {"add": model.add, "delete": model.delete}.get(view, model.view)


def _answered(response: Any) -> bool:
    """Allowed: the page answered (a missing object's page redirects to the index)."""
    location = response.get("Location", "") if response.status_code == 302 else ""
    return response.status_code not in (403, 500) and "/login/" not in location


def _pages(world: World) -> Iterator[tuple[str, str, frozenset[str], bool, int]]:
    """(name, url, allowed permissions, post_only, refused status) of every page checked."""
    for name, page in PAGES.items():
        yield name, _url(name, page, world), page.allow, page.post_only, page.refused
    for name, (label, view) in sorted(generic_names().items()):
        url = _generic_url(name, label, view, world)
        if url is not None:
            yield name, url, _generic_access(label, view), False, 403
    for app_label in sorted({label.split(".")[0] for label in registered_models()}):
        allow = perms(f"{app_label}.*", *APP_LIST_ALSO.get(app_label, ()))
        yield "admin:app_list", reverse("admin:app_list", args=[app_label]), allow, False, 404


ROLE_CODES = [role.code for role in ROLES]


@pytest.mark.parametrize("role", [*ROLE_CODES, None], ids=[*ROLE_CODES, "staff-without-role"])
def test_each_role_opens_exactly_its_pages_and_refused_posts_change_nothing(role):
    world = _world()
    client = operator(role)
    holding = held(client)
    wrong: list[str] = []
    refused_posts: list[tuple[str, str]] = []
    allowed_posts: list[tuple[str, str]] = []

    for name, url, allow, post_only, refused in _pages(world):
        allowed = allows(allow, holding)
        if post_only:
            (allowed_posts if allowed else refused_posts).append((name, url))
            continue
        response = client.get(url)
        if allowed and not _answered(response):
            wrong.append(f"GET {url} ({name}) refused: {response.status_code}")
        if not allowed and response.status_code != refused:
            wrong.append(f"GET {url} ({name}) not refused: {response.status_code}")
        if not allowed and refused == 403:
            refused_posts.append((name, url))

    # Refused POSTs: to every page refused, and every admin action not the role's.
    before = database_state()
    for name, url in refused_posts:
        response = client.post(url, {})
        if response.status_code != 403:
            wrong.append(f"POST {url} ({name}) not refused: {response.status_code}")
    for (label, action), (allow, fields) in ACTIONS.items():
        if allows(allow, holding):
            continue
        app, model = label.split(".")
        changelist = reverse(f"admin:{app}_{model}_changelist")
        offered = f'<option value="{action}">' in client.get(changelist).content.decode()
        if offered:
            wrong.append(f"action {action} offered on {changelist}")
        client.post(
            changelist,
            {"action": action, "_selected_action": [world.objects[label]], "index": 0, **fields},
        )
    assert database_state() == before, "a refused POST changed the database"

    for (label, action), (allow, _fields) in ACTIONS.items():
        app, model = label.split(".")
        changelist = reverse(f"admin:{app}_{model}_changelist")
        if allows(allow, holding):
            page = client.get(changelist).content.decode()
            if f'<option value="{action}">' not in page:
                wrong.append(f"action {action} not offered on {changelist}")

    # Allowed POST-only pages take the request (and refuse an empty form on their own terms).
    for name, url in allowed_posts:
        response = client.post(url, {})
        if not _answered(response):
            wrong.append(f"POST {url} ({name}) refused: {response.status_code}")

    assert wrong == [], "\n".join(wrong)


# --- what the table means, in words: the actions that matter, and who holds them -----------------

KEY_ACTIONS = {
    "incentives.prepare_run": {"finance_maker"},
    "incentives.approve_run": {"finance_checker"},
    "incentives.reconcile_statement": {"finance_maker"},
    "waves.change_wave": {"program_admin"},
    "waves.change_programscheme": {"program_admin"},
    "registration.add_exclusionimport": {"program_admin", "verifier"},
    "catalog.change_training": {"partner_manager"},
    "partners.change_partner": {"partner_manager"},
    "orders.change_settlement": {"partner_manager"},
    "console.view_audit_log": {"program_admin", "auditor"},
    "console.unmask_personal_data": {"program_admin", "verifier"},
    "console.lookup_participant": {"program_admin", "verifier", "support", "auditor"},
    "auth.change_user": set(),
    "grievances.change_complaint": {"support"},
}


def test_the_actions_that_matter_are_held_by_exactly_these_roles():
    holders = {}
    for name in KEY_ACTIONS:
        app, codename = name.split(".")
        holders[name] = set(
            Permission.objects.filter(content_type__app_label=app, codename=codename)
            .values_list("group__name", flat=True)
            .exclude(group__name=None)
        )
    assert holders == {
        name: {f"role:{code}" for code in codes} for name, codes in KEY_ACTIONS.items()
    }


def test_the_auditor_holds_view_permissions_only():
    auditor = operator("auditor")
    assert sorted(name for name in held(auditor) if not name.split(".")[1].startswith("view_")) == [
        "console.lookup_participant"
    ]


def test_operators_are_not_participants_or_partners_on_the_apis():
    _world()
    client = operator("program_admin")
    participant_api = client.get("/api/v1/me/incentives")
    partner_api = client.get("/api/partner/v1/orders")
    assert participant_api.status_code == 401
    assert partner_api.status_code == 401
