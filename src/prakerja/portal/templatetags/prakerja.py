from datetime import datetime

from django import template
from django.utils.translation import get_language

from prakerja.common.money import format_rupiah
from prakerja.common.timeutil import format_wib

register = template.Library()


@register.filter
def rupiah(amount: int) -> str:
    return format_rupiah(amount)


@register.filter
def wib(moment: datetime) -> str:
    return format_wib(moment, language=get_language() or "id")
