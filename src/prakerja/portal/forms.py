"""Forms only parse input into types; the rules live in registration.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from prakerja.common.form_text import one_line_text
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
    full_name = forms.CharField(
        label=_("Full name (as on your ID card)"), max_length=150, validators=[one_line_text]
    )
    nik = forms.CharField(
        validators=[one_line_text],
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
        validators=[one_line_text],
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
        validators=[one_line_text],
        label=_("New mobile number"),
        max_length=24,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


class NikCorrectionForm(forms.Form):
    full_name = forms.CharField(
        label=_("Full name (as on your ID card)"), max_length=150, validators=[one_line_text]
    )
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


SORT_CHOICES = [
    ("relevance", _("Most relevant")),
    ("price_asc", _("Cheapest first")),
    ("price_desc", _("Most expensive first")),
    ("rating", _("Best rated")),
    ("popularity", _("Most bought")),
    ("distance", _("Nearest to home (in person)")),
]
DELIVERY_CHOICES = [
    ("", _("Any way of learning")),
    ("self_paced", _("Self-paced video")),
    ("webinar", _("Webinar")),
    ("offline", _("In person")),
]


def province_label(name: str) -> str:
    """A province's name for people: "DKI JAKARTA" -> "DKI Jakarta", "P A P U A" -> "Papua"."""
    words = name.split()
    if all(len(word) == 1 for word in words):
        words = ["".join(words)]
    return " ".join(w if w in ("DKI", "DI") else w.capitalize() for w in words)


class TrainingSearchForm(forms.Form):
    """The catalog search's parameters from the query string; every one may be left out."""

    q = forms.CharField(
        validators=[one_line_text],
        label=_("Find a training"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("e.g. menjahit, excel")}),
    )
    category = forms.ChoiceField(label=_("Category"), required=False)
    platform = forms.ChoiceField(label=_("Platform"), required=False)
    price_min = forms.IntegerField(
        label=_("Lowest price (Rp)"),
        min_value=0,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1000"}),
    )
    price_max = forms.IntegerField(
        label=_("Highest price (Rp)"),
        min_value=0,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1000"}),
    )
    delivery = forms.ChoiceField(label=_("How"), choices=DELIVERY_CHOICES, required=False)
    province = forms.ChoiceField(label=_("Province (in-person trainings)"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)
    page = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: object,
        categories: list[str],
        platforms: list[tuple[str, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices: dict[str, list[tuple[str, object]]] = {
            "category": [("", _("All categories")), *((c, c) for c in categories)],
            "platform": [("", _("All platforms")), *platforms],
            "province": [
                ("", _("All provinces")),
                *((p.province_code, province_label(p.name)) for p in provinces()),
            ],
        }
        for name, offered in choices.items():
            self.fields[name].choices = offered  # type: ignore[attr-defined]

    def clean_page(self) -> int:
        """A page number from a link; anything else is the first page."""
        page = self.cleaned_data.get("page") or ""
        return max(1, int(page)) if page.isascii() and page.isdigit() and len(page) < 7 else 1

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        low, high = data.get("price_min"), data.get("price_max")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            self.add_error("price_max", _("The highest price must not be below the lowest."))
        return data
