"""Participant pages for registration: sign up, sign in and out, password reset, and the status
page where each verification layer is shown and acted on. Views parse input, call one service and
render; refusals come back as messages next to the fields they concern."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import get_language
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
from prakerja.waves.selectors import registrant_applications, wave_open


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


def sign_up(request: HttpRequest) -> HttpResponse:
    form = f.SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            registrant = services.registrant_sign_up(
                data=services.SignUp(**form.cleaned_data, language=_language()),
                client_ip=client_ip(request),
            )
        except ApplicationError as error:
            show_refusal(form, error)
        else:
            sign_in(request, registrant)
            messages.success(request, _("Your account is made. Check your email for the code."))
            return redirect("portal:status")
    return render(request, "portal/signup.html", {"form": form})


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
        services.email_verify_link(token=token)
    except ApplicationError as error:
        return render(
            request,
            "portal/error.html",
            {"code": error.code, "message": error.message(_language())},
            status=error.http_status,
        )
    messages.success(request, _("Your email is verified."))
    return redirect("portal:status")


@registrant_required
def status(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    layers = registrant_layers(registrant, language=_language())
    open_wave, applications = wave_open(), registrant_applications(registrant.pk)
    waiting = any(view.reason in ("REGISTRY_CHECKING", "REGISTRY_RETRYING") for view in layers)
    context = {
        "registrant": registrant,
        "layers": layers,
        "open_wave": open_wave,
        "applications": applications,
        "can_join": open_wave is not None
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
def email_code(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    form = f.CodeForm(request.POST)
    return _act(
        request,
        registrant,
        form,
        lambda: services.email_verify_code(
            registrant=registrant, code=form.cleaned_data["code"], client_ip=client_ip(request)
        ),
        _("Your email is verified."),
    )


@require_POST
@registrant_required
def email_resend(request: HttpRequest, registrant: Registrant) -> HttpResponse:
    return _act(
        request,
        registrant,
        forms.Form({}),
        lambda: services.email_resend(registrant=registrant),
        _("A new code is on its way to your email."),
    )


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
