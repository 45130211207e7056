"""Forms only parse input into types; the rules live in registration.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from prakerja.registration.models import Education, Employment
from prakerja.registration.regions import provinces, regencies


def regency_choices() -> list[tuple[str, object]]:
    groups: list[tuple[str, object]] = [("", _("Choose regency or city"))]
    for province in provinces():
        groups.append(
            (
                province.name.title(),
                [(r.code, r.name.title()) for r in regencies(province.province_code)],
            )
        )
    return groups


class SignUpForm(forms.Form):
    full_name = forms.CharField(label=_("Full name (as on your ID card)"), max_length=150)
    nik = forms.CharField(
        label=_("NIK (16 digits on your ID card)"),
        max_length=24,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    birth_date = forms.DateField(
        label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"})
    )
    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=24,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    regency_code = forms.ChoiceField(
        label=_("Regency or city where you live"), choices=regency_choices
    )
    education = forms.ChoiceField(label=_("Last education"), choices=Education.choices)
    employment = forms.ChoiceField(label=_("Work status"), choices=Employment.choices)
    in_school = forms.TypedChoiceField(
        label=_("Are you in school or university now?"),
        choices=[("no", _("No")), ("yes", _("Yes"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    password = forms.CharField(
        label=_("Password (at least 8 characters)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        ),
    )


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("New mobile number"),
        max_length=24,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


class NikCorrectionForm(forms.Form):
    full_name = forms.CharField(label=_("Full name (as on your ID card)"), max_length=150)
    birth_date = forms.DateField(
        label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"})
    )


class SelfieForm(forms.Form):
    selfie = forms.FileField(
        label=_("Selfie photo (JPEG or PNG, at most 5 MB)"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png", "capture": "user"}
        ),
    )


class ResetRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class ResetConfirmForm(forms.Form):
    password = forms.CharField(
        label=_("New password (at least 8 characters)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
