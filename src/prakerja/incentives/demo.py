"""The demo's financial institutions and their sandbox account books.

The four 2020 institutions are partners (created once). Once their sandboxes run, each book gets
an account for every participant of the demo: OVO and GoPay hold upgraded e-wallets of the
participants' phones (linking one is verified), LinkAja holds basic ones (linking one is refused
NOT_UPGRADED, with what to do), BNI holds a virtual account per participant whose number is
printed for the demo participant.
"""

import httpx

from prakerja.common.actors import Actor
from prakerja.common.crypto import decrypt
from prakerja.incentives.institutions import INSTITUTIONS
from prakerja.partners.models import Partner, PartnerKind
from prakerja.partners.services import partner_create
from prakerja.waves.models import Participant

ACTOR = Actor.system("demo-seed")
KYC = {"ovo": "upgraded", "gopay": "upgraded", "linkaja": "basic"}


def demo_institutions_seed() -> None:
    for code, (name, _) in INSTITUTIONS.items():
        if not Partner.objects.filter(code=code).exists():
            partner_create(code=code, name=name, kind=PartnerKind.INSTITUTION, actor=ACTOR)


def demo_virtual_account(participant: Participant) -> str:
    return f"988{participant.card_number[-12:]}"


def demo_books_fill(urls: dict[str, str]) -> list[str]:
    """Put the demo participants' accounts in the running sandboxes' books; lines to print."""
    people = list(Participant.objects.select_related("registrant").order_by("pk"))
    for code, url in urls.items():
        accounts = [_account(code, person) for person in people if person.registrant.phone]
        if accounts:
            httpx.post(
                f"{url}/_accounts", json={"accounts": accounts}, timeout=30
            ).raise_for_status()
    if not people:
        return []
    return [
        "  incentives (/insentif/): OVO and GoPay wallets of every participant's phone are "
        "verified, LinkAja wallets are not upgraded (refused NOT_UPGRADED); BNI virtual account "
        f"of the first participant: {demo_virtual_account(people[0])}"
    ]


def _account(code: str, person: Participant) -> dict[str, str]:
    wallet = code != "bni"
    return {
        "account_type": "e_wallet" if wallet else "virtual_account",
        "account_number": (person.registrant.phone or "")
        if wallet
        else demo_virtual_account(person),
        "nik": decrypt(person.registrant.nik_encrypted),
        "holder_name": person.registrant.full_name or f"Peserta {person.pk}",
        "kyc_level": KYC.get(code, "upgraded"),
        "status": "active",
    }
