"""The wave console's forms and actions: what an operator may do to a wave in its status (the
transition table's targets), the form each action asks for, and the one service it calls."""

import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils import timezone

from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB
from prakerja.waves.models import Verification, Wave, WaveStatus
from prakerja.waves.selection import wave_select
from prakerja.waves.services import (
    TRANSITIONS,
    wave_announce,
    wave_cancel,
    wave_close,
    wave_open,
    wave_postpone,
)

# --- forms ---------------------------------------------------------------------------------------


class WibDateTimeField(forms.DateTimeField):
    """A date and time typed in WIB, whatever time zone the request runs in."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value: Any) -> datetime.datetime | None:
        with timezone.override(WIB):
            return super().to_python(value)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime.datetime) and timezone.is_aware(value):
            return value.astimezone(WIB)
        return value


QUOTA_LINE = re.compile(r"\s*([0-9.]+)\s*=\s*(\d+)\s*")


def parse_province_quotas(text: str) -> dict[str, int]:
    """A JSON object ({"94": 1200}) or "code=count" items, one a line (or separated by commas)."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise forms.ValidationError(
                "Bukan JSON yang valid. / Not valid JSON.", code="PROVINCE_QUOTAS_FORMAT"
            ) from None
        if not isinstance(data, dict) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in data.values()
        ):
            raise forms.ValidationError(
                'Harus objek {"kode": jumlah}. / Must be an object {"code": count}.',
                code="PROVINCE_QUOTAS_FORMAT",
            )
        return {str(code).strip(): n for code, n in data.items()}
    quotas: dict[str, int] = {}
    for item in re.split(r"[\n,;]+", text):
        if not item.strip():
            continue
        match = QUOTA_LINE.fullmatch(item)
        if match is None:
            raise forms.ValidationError(
                f"“{item.strip()}”: tulis kode=jumlah. / write code=count.",
                code="PROVINCE_QUOTAS_FORMAT",
            )
        code, count = match.groups()
        if code in quotas:
            raise forms.ValidationError(
                f"Provinsi {code} disebut dua kali. / Province {code} is named twice.",
                code="PROVINCE_QUOTAS_FORMAT",
            )
        quotas[code] = int(count)
    return quotas


class WaveCreateForm(forms.Form):
    quota = forms.IntegerField(help_text="Participants to select in this wave.")
    opens_at = WibDateTimeField(label="Opens (WIB)")
    closes_at = WibDateTimeField(label="Closes (WIB)")
    province_quotas = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 30}),
        help_text='Provinces guaranteed at least that many participants: "code=count" lines '
        '(94=1200) or a JSON object ({"94": 1200}). Leave empty for none.',
    )
    priority_order = forms.CharField(
        required=False,
        help_text="Groups filled first, in this order, separated by commas: laid_off, "
        "unemployed, or the name of an imported priority list.",
    )
    verification = forms.ChoiceField(choices=Verification.choices, initial=Verification.FACE)

    def clean_province_quotas(self) -> dict[str, int]:
        return parse_province_quotas(self.cleaned_data["province_quotas"])

    def clean_priority_order(self) -> list[str]:
        return [g for g in re.split(r"[\s,;]+", self.cleaned_data["priority_order"]) if g]


class NoInputForm(forms.Form):
    pass


class OpenForm(forms.Form):
    # Not required here: the service refuses an empty or malformed commitment with its own code.
    seed_commitment = forms.CharField(
        label="Seed commitment (SHA-256, 64 hex digits)",
        required=False,
        widget=forms.TextInput(attrs={"size": 70, "autocomplete": "off"}),
    )

    def clean_seed_commitment(self) -> str:
        return str(self.cleaned_data["seed_commitment"]).strip().lower()


class SelectForm(forms.Form):
    # strip=False: the seed must hash to the commitment byte for byte.
    seed = forms.CharField(
        label="Revealed seed",
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"size": 70, "autocomplete": "off"}),
    )


class PostponeForm(forms.Form):
    opens_at = WibDateTimeField(label="New opening (WIB)")
    closes_at = WibDateTimeField(label="New closing (WIB)")
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 50}))


class CancelForm(forms.Form):
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 50}))


# --- the transitions a wave's page offers ----------------------------------------------------------


@dataclass(frozen=True)
class WaveAction:
    name: str
    label: str
    target: str  # the status it moves the wave to
    form: type[forms.Form]
    explanation: str
    run: Callable[[Wave, dict[str, Any], Actor], str]  # calls one service; returns what it did


def _open(wave: Wave, data: dict[str, Any], actor: Actor) -> str:
    wave_open(wave=wave, seed_commitment=data["seed_commitment"], actor=actor)
    return "opened for applications; the commitment is published"


def _close(wave: Wave, data: dict[str, Any], actor: Actor) -> str:
    wave_close(wave=wave, actor=actor)
    return "closed"


def _select(wave: Wave, data: dict[str, Any], actor: Actor) -> str:
    result = wave_select(wave=wave, seed=data["seed"], actor=actor)
    return (
        f"drawn: {result.selected} selected of a quota of {result.quota}, "
        f"{result.ineligible} no longer eligible"
    )


def _announce(wave: Wave, data: dict[str, Any], actor: Actor) -> str:
    wave_announce(wave=wave, actor=actor)
    return "announced"


def _postpone(wave: Wave, data: dict[str, Any], actor: Actor) -> str:
    wave_postpone(
        wave=wave,
        opens_at=data["opens_at"],
        closes_at=data["closes_at"],
        reason=data["reason"],
        actor=actor,
    )
    return "postponed; its applicants are told the new dates"


def _cancel(wave: Wave, data: dict[str, Any], actor: Actor) -> str:
    wave_cancel(wave=wave, reason=data["reason"], actor=actor)
    return "cancelled; its applicants are told"


ACTIONS: dict[str, WaveAction] = {
    action.name: action
    for action in (
        WaveAction(
            "open",
            "Open",
            WaveStatus.OPEN,
            OpenForm,
            "Draw a secret seed offline and enter only its SHA-256 commitment (for example "
            '`printf %s "$SEED" | sha256sum`). The commitment is published now; the seed stays '
            "secret until the draw, where it must match, so nobody can choose it to favour anyone.",
            _open,
        ),
        WaveAction(
            "close",
            "Close",
            WaveStatus.CLOSED,
            NoInputForm,
            "Stop taking applications.",
            _close,
        ),
        WaveAction(
            "select",
            "Select",
            WaveStatus.SELECTED,
            SelectForm,
            "Reveal the seed: it is checked against the commitment, the participants are drawn by "
            "the published rule and their balances credited. On a drawn wave this finishes the "
            "crediting.",
            _select,
        ),
        WaveAction(
            "announce",
            "Announce",
            WaveStatus.ANNOUNCED,
            NoInputForm,
            "Publish the result; the wave must be fully credited.",
            _announce,
        ),
        WaveAction(
            "postpone",
            "Postpone",
            WaveStatus.POSTPONED,
            PostponeForm,
            "New dates; applications are kept and applicants are told.",
            _postpone,
        ),
        WaveAction(
            "cancel",
            "Cancel",
            WaveStatus.CANCELLED,
            CancelForm,
            "Final: the wave is never drawn; applicants are told.",
            _cancel,
        ),
    )
}


def actions_offered(wave: Wave) -> list[WaveAction]:
    """The actions the transition table allows from the wave's status, in the table's order;
    "select" also on a drawn wave whose crediting has not finished."""
    offered = [a for a in ACTIONS.values() if a.target in TRANSITIONS[wave.status]]
    if wave.status == WaveStatus.SELECTED and wave.credited_at is None:
        offered.insert(0, ACTIONS["select"])
    return offered
