from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from prakerja.common.form_text import multi_line_text
from prakerja.grievances.attachments import ATTACHMENT_MAX_BYTES
from prakerja.grievances.models import Category
from prakerja.grievances.related import Related

# What each category means to a participant, in their words (the radio buttons' labels).
CATEGORY_LABELS: dict[str, Any] = {
    Category.VERIFICATION: _("Verification (email, NIK, phone, eligibility, selfie)"),
    Category.SELECTION: _("Wave selection"),
    Category.VOUCHER: _("Buying a training or using its voucher"),
    Category.COMPLETION: _("Completing a training or its certificate"),
    Category.PAYMENT: _("Incentive payment"),
}


class ComplaintForm(forms.Form):
    category = forms.ChoiceField(
        label=_("What is the problem about?"),
        choices=[(value, CATEGORY_LABELS[value]) for value in Category.values],
        widget=forms.RadioSelect,
    )
    related = forms.ChoiceField(label=_("Which one? (optional)"), required=False)
    text = forms.CharField(
        validators=[multi_line_text],
        label=_("Tell us what happened"),
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": 4000}),
    )
    attachment = forms.FileField(
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )

    def __init__(self, *args: Any, related: list[Related], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachment"].label = gettext(
            "Attachment (optional): a photo or PDF, at most %(megabytes)d MB"
        ) % {"megabytes": ATTACHMENT_MAX_BYTES // (1024 * 1024)}
        related_field = self.fields["related"]
        assert isinstance(related_field, forms.ChoiceField)
        related_field.choices = [("", _("None of these / not about one of them"))] + [
            (item.value, item.label) for item in related
        ]
        if not related:
            del self.fields["related"]

    def related_ref(self) -> tuple[str, int | None]:
        value = self.cleaned_data.get("related") or ""
        if not value:
            return "", None
        kind, _sep, number = value.partition(":")
        return kind, int(number)
