from django import template
from django.utils.translation import get_language

register = template.Library()


def _english() -> bool:
    return (get_language() or "id").startswith("en")


@register.filter
def number(value: int) -> str:
    """1158 -> '1.158' in Indonesian, '1,158' in English."""
    text = f"{int(value):,}"
    return text if _english() else text.replace(",", ".")


@register.filter
def percent(value: float) -> str:
    """80.8 -> '80,8%' in Indonesian, '80.8%' in English."""
    text = f"{float(value):.1f}"
    return (text if _english() else text.replace(".", ",")) + "%"
