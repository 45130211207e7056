"""The one text policy (common/text.py) as Django form validators, for the portal's and the
console's free-text fields: what the APIs refuse as CHARACTER_INVALID, a form refuses too."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from prakerja.common.text import CHARACTER_INVALID, text_problem

MESSAGE = _(
    "This text holds a character that cannot be kept (a control or direction character, often "
    "pasted in unseen). Type it again or remove that character."
)


def one_line_text(value: str) -> None:
    if text_problem(value):
        raise ValidationError(MESSAGE, code=CHARACTER_INVALID)


def multi_line_text(value: str) -> None:
    if text_problem(value, multiline=True):
        raise ValidationError(MESSAGE, code=CHARACTER_INVALID)
