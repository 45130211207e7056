"""Participant pages for registration: sign up, sign in and out, password reset, and the status
page where each verification layer is shown and acted on, with the person's waves, their results and,
for a participant, the card. Views parse input, call one service and render; refusals come back as
messages next to the fields they concern."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prakerja.common.actors import Actor
from prakerja.common.errors import ApplicationError, ValidationFailed
from prakerja.portal import forms as f
from prakerja.portal.session import (
    client_ip,
    current_registrant,
    sign_in,
    sign_out,
)
from prakerja.registration import services
from prakerja.registration.field_errors import field_error_text
from prakerja.registration.models import Registrant
from prakerja.registration.selectors import registrant_fully_verified, registrant_layers
from prakerja.waves import services as waves
from prakerja.waves.models import ParticipantStatus, ProgramScheme, WaveApplication, WaveStatus
from prakerja.waves.selectors import (
    ParticipantCard,
    application_result,
    participant_card,
    registrant_applications,
    wave_open,
)


def _language() -> str:
    return get_language() or "id"


def show_refusal(form: forms.Form, error: ApplicationError) -> None:
    """Field problems go next to their fields; anything else at the top of the form."""
    details = error.details if isinstance(error, ValidationFailed) else {}
    placed = False
    for field, detail in details.items():
        if field in form.fields:
            form.add_error(field, field_error_text(detail, _language()))
            placed = True
    if not placed:
        form.add_error(None, error.message(_language()))


def registrant_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        registrant = current_registrant(request)
        if registrant is None:
            return redirect(f"/masuk/?next={request.path}")
        return view(request, registrant, *args, **kwargs)

    return wrapper


# The receipt of the sign-up this browser made, until it is finished.
SIGNUP_TOKEN = "signup_token"  # noqa: S105 - a session key, not a secret
SIGNUP_EMAIL = "signup_email"


def sign_up(request: HttpRequest) -> HttpResponse:
    form = f.SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            receipt = services.registrant_sign_up(
                data=services.SignUp(**form.cleaned_data, language=_language()),
                client_ip=client_ip(request),
            )
        except ApplicationError as error:
            show_refusal(form, error)
        else:
            # The same page follows whether or not the email had an account (docs/security.md).
            request.session[SIGNUP_TOKEN] = receipt.token
            request.session[SIGNUP_EMAIL] = receipt.email
            return redirect("portal:signup_email")
    return render(request, "portal/signup.html", {"form": form})


def signup_email(request: HttpRequest) -> HttpResponse:
    """Step two of signing up: the code from the email, on the device that signed up."""
    token = request.session.get(SIGNUP_TOKEN)
    if not token:
        return redirect("portal:signup")
    form = f.CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registrant = services.sign_up_email_verify(
                token=token, code=form.cleaned_data["code"], client_ip=client_ip(request)
            )
        except ApplicationError as error:
            show_refusal(form, error)
        else:
            sign_in(request, registrant)  # a new session: the receipt goes with the old one
            messages.success(request, _("Your email is verified."))
            return redirect("portal:status")
    context = {"form": form, "email": request.session.get(SIGNUP_EMAIL, "")}
    return render(request, "portal/signup_email.html", context)


@require_POST
def signup_email_resend(request: HttpRequest) -> HttpResponse:
    token = request.session.get(SIGNUP_TOKEN)
    if not token:
        return redirect("portal:signup")
    try:
        services.sign_up_email_resend(token=token, client_ip=client_ip(request))
    except ApplicationError as error:
        messages.error(request, error.message(_language()))
    else:
        messages.success(request, _("If a new code can be sent, it is on its way to your email."))
    return redirect("portal:signup_email")


def log_in(request: HttpRequest) -> HttpResponse:
    form = f.LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registrant = services.registrant_authenticate(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                client_ip=client_ip(request),
            )
        except ApplicationError as error:
            show_refusal(form, error)
        else:
            sign_in(request, registrant)
            target = request.GET.get("next", "")
            return redirect(
                target if target.startswith("/") and not target.startswith("//") else "/status/"
            )
    return render(request, "portal/login.html", {"form": form})


@require_POST
def log_out(request: HttpRequest) -> HttpResponse:
    sign_out(request)
    return redirect("portal:home")


def reset_request(request: HttpRequest) -> HttpResponse:
    form = f.ResetRequestForm(request.POST or None)
    sent = False
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_request(
                email=form.cleaned_data["email"], client_ip=client_ip(request)
            )
            sent = True
        except ApplicationError as error:
            show_refusal(form, error)
    return render(request, "portal/reset_request.html", {"form": form, "sent": sent})


def reset_confirm(request: HttpRequest, token: str) -> HttpResponse:
    form = f.ResetConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_confirm(token=token, new_password=form.cleaned_data["password"])
        except ApplicationError as error:
            show_refusal(form, error)
        else:
            messages.success(request, _("Your password is changed. Sign in with the new password."))
            return redirect("portal:login")
    return render(request, "portal/reset_confirm.html", {"form": form})


def verify_email_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        registrant = services.email_verify_link(
            token=token, signup_token=request.session.get(SIGNUP_TOKEN, "")
        )
    except ApplicationError as error:
        return render(
            request,
            "portal/error.html",
            {
                "code": error.code,
                "message": error.message(_language()),
                "next_url": "/daftar/email/" if request.session.get(SIGNUP_TOKEN) else "",
            },
            status=error.http_status,
        )
    if registrant is None:
        messages.success(request, _("Your email is verified. Sign in to continue."))
        return redirect("portal:login")
    sign_in(request, registrant)
    messages.success(request, _("Your email is verified."))
    return redirect("portal:status")


# A wave's status in the words a participant reads (WaveStatus labels are for operators).
WAVE_STATUS_WORDS: dict[str, Promise] = {
    WaveStatus.DRAFT: gettext_lazy("Not open yet"),
    WaveStatus.OPEN: gettext_lazy("Open for registration"),
    WaveStatus.CLOSED: gettext_lazy("Registration closed, the draw comes next"),
    WaveStatus.SELECTED: gettext_lazy("Drawn"),
    WaveStatus.ANNOUNCED: gettext_lazy("Result announced"),
    WaveStatus.POSTPONED: gettext_lazy("Postponed"),
    WaveStatus.CANCELLED: gettext_lazy("Cancelled"),
}

# Why the draw found an application no longer eligible (WaveApplication.outcome_reason, written by
# waves.selection), and what the person can do about it.
INELIGIBLE_WHY = {
    "ALREADY_PARTICIPANT": gettext_lazy(
        "You are already a Kartu Prakerja participant from an earlier wave. "
        "A person can be a participant only once."
    ),
    "LIFETIME_BLOCK": gettext_lazy(
        "Your earlier membership was revoked because no training was bought before the deadline. "
        "After that, the same NIK cannot take part again."
    ),
    "EXCLUDED": gettext_lazy(
        "Your NIK is on a list of people the program cannot accept, for example recipients of "
        "other social assistance, civil servants, members of parliament or village officials."
    ),
    "ACCOUNT_CLOSED": gettext_lazy("Your account was closed before the draw."),
    "IN_SCHOOL": gettext_lazy(
        "Your details say that you are in school or university. "
        "The program is for people who are not in formal education."
    ),
    "UNDER_AGE": gettext_lazy("On the day of the draw you were younger than %(age)s years."),
    "NOT_VERIFIED": gettext_lazy(
        "On the day of the draw, one of your verification steps was not passed."
    ),
}
INELIGIBLE_TODO = {
    "ALREADY_PARTICIPANT": gettext_lazy("Nothing: your card and its status are shown above."),
    "LIFETIME_BLOCK": gettext_lazy("Nothing can be done: this decision is final."),
    "EXCLUDED": gettext_lazy(
        "If you think this is a mistake, contact the Kartu Prakerja help desk and name your wave."
    ),
    "ACCOUNT_CLOSED": gettext_lazy(
        "If you did not close your account, contact the Kartu Prakerja help desk."
    ),
    "IN_SCHOOL": gettext_lazy(
        "If you have left school or university, contact the Kartu Prakerja help desk."
    ),
    "UNDER_AGE": gettext_lazy("Join a wave that opens once you are %(age)s years old."),
    "NOT_VERIFIED": gettext_lazy(
        "Finish the verification steps below, then join the next wave when it opens."
    ),
}
INELIGIBLE_OTHER = gettext_lazy(
    "You did not meet the program's requirements on the day of the draw."
)
INELIGIBLE_OTHER_TODO = gettext_lazy("Contact the Kartu Prakerja help desk and name your wave.")
URGENT_DAYS = 3  # the countdown is emphasised from this many days left


@dataclass(frozen=True)
class ApplicationView:
    """One application as the status page explains it."""

    application: WaveApplication
    number: int
    wave_status: str  # WaveStatus value
    wave_status_words: str
    result: str  # selectors.Result value
    why: str  # ineligible: what the reason code means
    todo: str  # ineligible: what to do next
    carry_over: bool  # not selected: the scheme carries the person into the next wave
    carried_into: int | None  # not selected: the wave number they were carried into, once done


def _ineligible_words(reason: str, scheme: ProgramScheme) -> tuple[str, str]:
    if not reason:
        return "", ""
    why = str(INELIGIBLE_WHY.get(reason, INELIGIBLE_OTHER))
    todo = str(INELIGIBLE_TODO.get(reason, INELIGIBLE_OTHER_TODO))
    if reason == "UNDER_AGE":
        why, todo = why % {"age": scheme.min_age_years}, todo % {"age": scheme.min_age_years}
    return why, todo


def _application_views(applications: list[WaveApplication]) -> list[ApplicationView]:
    schemes = ProgramScheme.objects.in_bulk({a.wave.scheme_id for a in applications})
    carried_into = {a.carried_from_id: a.wave.number for a in applications if a.carried_from_id}
    views = []
    for a in applications:
        scheme = schemes[a.wave.scheme_id]
        why, todo = _ineligible_words(a.outcome_reason, scheme)
        views.append(
            ApplicationView(
                application=a,
                number=a.wave.number,
                wave_status=a.wave.status,
                wave_status_words=str(WAVE_STATUS_WORDS.get(a.wave.status, a.wave.status)),
                result=application_result(a),
                why=why,
                todo=todo,
                carry_over=scheme.carry_over_unselected,
                carried_into=carried_into.get(a.wave_id),
            )
        )
    return views


def card_number_grouped(number: str) -> str:
    """'1234567890123456' -> '1234 5678 9012 3456': easier to read out and to type in."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def _card_context(card: ParticipantCard | None) -> dict[str, object]:
    if card is None:
        return {"card": None}
    participant = card.participant
    return {
        "card": card,
        "card_number": card_number_grouped(participant.card_number),
        "revoked": participant.status == ParticipantStatus.REVOKED,
        "urgent": card.days_left is not None and card.days_left <= URGENT_DAYS,
    }


@registrant_required
def status(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    layers = registrant_layers(registrant, language=_language())
    open_wave, applications = wave_open(), registrant_applications(registrant.pk)
    card = participant_card(registrant.pk)
    waiting = any(view.reason in ("REGISTRY_CHECKING", "REGISTRY_RETRYING") for view in layers)
    context = {
        "registrant": registrant,
        "layers": layers,
        "open_wave": open_wave,
        "applications": _application_views(applications),
        # A participant (active or revoked) can never be selected again: no invitation to join.
        "can_join": open_wave is not None
        and card is None
        and not waves.layers_missing_for(open_wave, registrant)
        and all(a.wave_id != open_wave.pk for a in applications),
        "all_passed": registrant_fully_verified(registrant),
        "refresh": waiting,
        "code_form": f.CodeForm(),
        "phone_form": f.PhoneForm(),
        "nik_form": f.NikCorrectionForm(
            initial={"full_name": registrant.full_name, "birth_date": registrant.birth_date}
        ),
        "selfie_form": f.SelfieForm(),
        **_card_context(card),
    }
    return render(request, "portal/status.html", context)


def _act(
    request: HttpRequest,
    registrant: Registrant,
    form: forms.Form,
    action: Callable[[], object],
    done: str,
) -> HttpResponse:
    """Run one status-page action and come back to the status page with its outcome."""
    if form.is_valid():
        try:
            action()
        except ApplicationError as error:
            details = error.details if isinstance(error, ValidationFailed) else {}
            text = " ".join(
                field_error_text(d, _language()) for d in details.values()
            ) or error.message(_language())
            messages.error(request, text)
        else:
            messages.success(request, done)
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("portal:status")


@require_POST
@registrant_required
def nik_correct(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    form = f.NikCorrectionForm(request.POST)
    return _act(
        request,
        registrant,
        form,
        lambda: services.nik_correct(registrant=registrant, **form.cleaned_data),
        _("Thank you. We are checking your details again."),
    )


@require_POST
@registrant_required
def phone_code(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    form = f.CodeForm(request.POST)
    return _act(
        request,
        registrant,
        form,
        lambda: services.phone_verify_code(
            registrant=registrant, code=form.cleaned_data["code"], client_ip=client_ip(request)
        ),
        _("Your mobile number is verified."),
    )


@require_POST
@registrant_required
def phone_resend(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    return _act(
        request,
        registrant,
        forms.Form({}),
        lambda: services.phone_resend(registrant=registrant, client_ip=client_ip(request)),
        _("A new code is on its way by SMS."),
    )


@require_POST
@registrant_required
def phone_change(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    form = f.PhoneForm(request.POST)
    return _act(
        request,
        registrant,
        form,
        lambda: services.phone_change(
            registrant=registrant, phone=form.cleaned_data["phone"], client_ip=client_ip(request)
        ),
        _("We sent a code by SMS to the new number."),
    )


@require_POST
@registrant_required
def selfie(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    form = f.SelfieForm(request.POST, request.FILES)
    return _act(
        request,
        registrant,
        form,
        lambda: services.face_submit(
            registrant=registrant,
            image=form.cleaned_data["selfie"].read(services.SELFIE_MAX_BYTES + 1),
        ),
        _("Thank you. Your photo is being checked."),
    )


@require_POST
@registrant_required
def wave_apply(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    wave = wave_open()
    if wave is None:
        messages.error(request, waves.WaveNotOpen().message(_language()))
        return redirect("portal:status")
    return _act(
        request,
        registrant,
        forms.Form({}),
        lambda: waves.wave_join(
            wave=wave, registrant=registrant, actor=Actor.participant(registrant.pk)
        ),
        _("You have joined the wave. The result is announced after it closes."),
    )
