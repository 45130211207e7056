"""What a person sees of waves, results and the card: the status page and the participant API.

States are built with the real services (join, close, draw, carry-over, revocation); only the card
number, the deadline and the application time are pinned so that every value can be asserted."""

import datetime
import html
import re

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from prakerja.common.actors import Actor
from prakerja.common.timeutil import WIB, format_wib
from prakerja.registration.models import Registrant
from prakerja.waves import services
from prakerja.waves.carry_over import wave_carry_over
from prakerja.waves.models import Participant, ProgramScheme, WaveApplication
from prakerja.waves.revocation import participants_revoke_due
from prakerja.waves.selection import wave_select
from tests.waves.factory import OPERATOR, closed, join, open_wave, verified

pytestmark = pytest.mark.django_db
SEED = "seed-of-the-wave"
PASSWORD = "Rahasia-Sekali-2020"
CARD = "1234567890123452"  # Luhn-valid
UTC = datetime.UTC
APPLIED_AT = datetime.datetime(2020, 4, 11, 3, 0, tzinfo=UTC)


# --- given -------------------------------------------------------------------------------------


def people(n: int, **kwargs) -> list[Registrant]:
    """`n` verified registrants who can sign in with PASSWORD."""
    registrants = verified(n, **kwargs)
    Registrant.objects.filter(pk__in=[r.pk for r in registrants]).update(
        password=make_password(PASSWORD)
    )
    return registrants


def drawn(registrants: list[Registrant], *, quota: int = 10, **settings) -> None:
    """Wave (next number) opened, joined by `registrants`, closed and drawn."""
    wave = open_wave(quota=quota, **settings)
    join(wave, registrants)
    wave_select(wave=closed(wave), seed=SEED, actor=OPERATOR)


def participant_of(registrant: Registrant, **pinned) -> Participant:
    """The registrant's participant row, with its card number (and any field given) pinned."""
    Participant.objects.filter(registrant=registrant).update(card_number=CARD, **pinned)
    return Participant.objects.get(registrant=registrant)


def deadline_in(days: int) -> datetime.datetime:
    """A deadline as the draw sets them: 23:59:59 WIB on the day `days` calendar days from today."""
    last_day = timezone.localdate(timezone=WIB) + datetime.timedelta(days=days)
    return datetime.datetime.combine(last_day, datetime.time(23, 59, 59), tzinfo=WIB)


def page_for(client, registrant: Registrant, *, language: str = "id") -> str:
    """The status page as the signed-in registrant sees it, as text with tags collapsed."""
    signed = client.post("/masuk/", {"email": registrant.email, "password": PASSWORD})
    assert signed.status_code == 302
    client.post("/i18n/setlang/", {"language": language, "next": "/status/"})
    page = client.get("/status/")
    assert page.status_code == 200
    return page.content.decode()


def text(markup: str) -> str:
    """Visible text of an HTML fragment on one line: tags out, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def section(page: str, element_id: str) -> str:
    """The text of the <section id=…> (or other element) with that id, up to its closing tag."""
    start = page.index(f'id="{element_id}"')
    end = page.index("</section>", start)
    return text(page[page.rindex("<", 0, start) : end])


def token_for(client, registrant: Registrant) -> dict[str, str]:
    answer = client.post(
        "/api/v1/auth/login",
        {"email": registrant.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert answer.status_code == 200
    return {"HTTP_AUTHORIZATION": f"Bearer {answer.json()['token']}"}


# --- the card ----------------------------------------------------------------------------------


def test_a_participant_sees_the_card_grouped_the_balance_and_the_days_left(client):
    [person] = people(1)
    drawn([person])
    deadline = deadline_in(11)
    participant_of(person, purchase_deadline=deadline)

    page = page_for(client, person)

    # Language-neutral values on the default (Indonesian) page
    card = section(page, "card")
    assert "1234 5678 9012 3452" in card
    assert "Rp1.000.000" in card
    assert format_wib(deadline, language="id") in card
    assert card.startswith("Kartu Prakerja ")  # the block's heading
    assert '<h2 id="card-title">Kartu Prakerja</h2>' in page
    assert 'id="open-wave"' not in page
    assert "Anda lulus semua tahap verifikasi" not in page  # no invitation to join again

    english = section(page_for(client, person, language="en"), "card")
    assert english == (
        "Pre-Employment Card "
        "Card number 1234 5678 9012 3452 "
        "Selected in Wave 1 "
        "Membership Active "
        "Training balance Rp1.000.000 "
        f"Buy your first training by {format_wib(deadline, language='en')} "
        "11 days left to buy your first training "
        "If no training is bought by then, your membership is revoked and the balance goes back "
        "to the state."
    )


@pytest.mark.parametrize(
    ("days", "shown", "urgent"),
    [
        (4, "4 days left to buy your first training", False),
        (3, "Hurry: 3 days left to buy your first training", True),
        (1, "Hurry: 1 day left to buy your first training", True),
        (0, "Hurry: today is the last day to buy your first training.", True),
        (
            -1,
            "The time to buy a first training is over. Your membership will be revoked.",
            True,
        ),
    ],
)
def test_the_countdown_is_emphasised_in_words_from_three_days_left(client, days, shown, urgent):
    [person] = people(1)
    drawn([person])
    participant_of(person, purchase_deadline=deadline_in(days))

    page = page_for(client, person, language="en")

    [(classes, countdown)] = re.findall(r'<p class="([^"]+)" id="countdown">(.*?)</p>', page)
    assert text(countdown) == shown
    assert classes == ("countdown urgent" if urgent else "countdown")


def test_after_the_first_purchase_the_countdown_gives_way(client):
    [person] = people(1)
    drawn([person])
    bought = datetime.datetime(2020, 4, 20, 3, 15, tzinfo=UTC)  # 10.15 WIB
    participant_of(person, first_purchase_at=bought)

    card = section(page_for(client, person, language="en"), "card")

    assert card.endswith(
        "Training balance Rp1.000.000 "
        "You bought your first training on 20 Apr 2020 10:15 WIB. "
        "The rest of the balance can pay for more trainings."
    )
    assert "days left" not in card and "Buy your first training by" not in card


def test_a_revoked_participant_sees_when_and_why_and_no_countdown(client):
    [person] = people(1)
    drawn([person])
    participant_of(person, purchase_deadline=datetime.datetime(2020, 5, 20, 16, 59, 59, tzinfo=UTC))
    revoked = participants_revoke_due(
        actor=Actor.system("tests"), now=datetime.datetime(2020, 5, 21, 1, 0, tzinfo=UTC)
    )
    assert revoked == 1
    wave = open_wave()  # a new wave: a revoked participant is blocked for life, so not invited

    page = page_for(client, person, language="en")

    assert section(page, "card") == (
        "Pre-Employment Card "
        "Card number 1234 5678 9012 3452 "
        "Selected in Wave 1 "
        "Membership Revoked "
        "Training balance Rp0 "
        "Your membership was revoked on 21 May 2020 08:00 WIB. "
        "Why: no training was bought before the deadline, 20 May 2020 23:59 WIB. "
        "The training balance went back to the state, and this NIK cannot take part in the "
        "program again."
    )
    assert 'id="countdown"' not in page
    assert 'data-status="revoked"' in page
    assert 'id="open-wave"' not in page and wave.number == 2
    # The Indonesian page shows the same facts in its own date format
    indonesian = section(page_for(client, person), "card")
    assert "1234 5678 9012 3452" in indonesian and "21 Mei 2020 08.00 WIB" in indonesian


# --- results per application -------------------------------------------------------------------


def test_selected_and_not_selected_each_read_their_result(client):
    people_ = people(2)
    drawn(people_, quota=1)
    chosen = Participant.objects.get().registrant
    [other] = [p for p in people_ if p.pk != chosen.pk]

    assert section(page_for(client, chosen, language="en"), "application-1") == (
        "Wave 1 Wave status Drawn Your result Selected "
        "Congratulations, you were selected in this wave. Your card is shown above."
    )
    client.post("/keluar/")
    page = page_for(client, other, language="en")
    assert section(page, "application-1") == (
        "Wave 1 Wave status Drawn Your result Not selected "
        "This wave had more applicants than places, and the draw did not pick you. "
        "You will be moved to the next wave automatically when it opens. "
        "You do not need to register again."
    )
    assert 'id="card"' not in page


def test_not_selected_once_carried_names_the_new_wave(client):
    people_ = people(2)
    drawn(people_, quota=1)
    [other] = [p for p in people_ if not Participant.objects.filter(registrant=p).exists()]
    wave_2 = open_wave()
    assert wave_carry_over(wave_id=wave_2.pk) == 1

    page = page_for(client, other, language="en")

    assert section(page, "application-1").endswith(
        "the draw did not pick you. "
        "You were moved to wave 2 automatically. You do not need to register again."
    )
    assert section(page, "application-2") == (
        "Wave 2 Wave status Open for registration Your result Waiting for the draw "
        "You have joined this wave. The result is announced after it closes. "
        f"Closes: {format_wib(wave_2.closes_at, language='en')}"
    )
    assert page.index('id="application-2"') < page.index('id="application-1"')  # newest first


def test_not_selected_under_a_scheme_without_carry_over_says_to_join_again(client):
    scheme = ProgramScheme.objects.create(
        code="no-carry", name="No carry-over", carry_over_unselected=False
    )
    people_ = people(2)
    drawn(people_, quota=1, scheme=scheme)
    [other] = [p for p in people_ if not Participant.objects.filter(registrant=p).exists()]

    assert section(page_for(client, other, language="en"), "application-1").endswith(
        "the draw did not pick you. What to do: "
        "You are not moved to the next wave automatically. Join it yourself when it opens."
    )


@pytest.mark.parametrize(
    ("change", "explained"),
    [
        (
            {"in_school": True},
            "Your details say that you are in school or university. The program is for people "
            "who are not in formal education. What to do: If you have left school or university, "
            "contact the Kartu Prakerja help desk.",
        ),
        (
            {"birth_date": datetime.date.today() - datetime.timedelta(days=17 * 365)},
            "On the day of the draw you were younger than 18 years. What to do: "
            "Join a wave that opens once you are 18 years old.",
        ),
        (
            {"phone_status": "pending"},
            "On the day of the draw, one of your verification steps was not passed. What to do: "
            "Finish the verification steps below, then join the next wave when it opens.",
        ),
    ],
)
def test_an_ineligible_application_explains_its_reason_and_what_to_do(client, change, explained):
    [person] = people(1)
    wave = open_wave()
    join(wave, [person])
    Registrant.objects.filter(pk=person.pk).update(**change)
    wave_select(wave=closed(wave), seed=SEED, actor=OPERATOR)

    assert section(page_for(client, person, language="en"), "application-1") == (
        "Wave 1 Wave status Drawn Your result Not eligible "
        f"You could not take part in this wave's draw. {explained}"
    )
    assert Participant.objects.count() == 0


def test_waiting_closed_postponed_and_cancelled_waves_say_where_they_stand(client):
    [person] = people(1)
    wave = open_wave()
    join(wave, [person])
    wave = closed(wave)
    page = page_for(client, person, language="en")
    assert section(page, "application-1") == (
        "Wave 1 Wave status Registration closed, the draw comes next "
        "Your result Waiting for the draw "
        "Registration for this wave is closed. The draw comes next, and its result will be "
        f"shown here. Closed on {format_wib(wave.closes_at, language='en')}."
    )

    opens = datetime.datetime(2020, 5, 4, 1, 0, tzinfo=UTC)
    wave = services.wave_postpone(
        wave=wave,
        opens_at=opens,
        closes_at=opens + datetime.timedelta(days=7),
        reason="data backlog review",
        actor=OPERATOR,
    )
    assert section(client.get("/status/").content.decode(), "application-1") == (
        "Wave 1 Wave status Postponed Your result Waiting for the draw "
        "This wave is postponed. Your application stays: you do not need to join again. "
        "New dates: opens 4 May 2020 08:00 WIB, closes 11 May 2020 08:00 WIB."
    )

    services.wave_cancel(wave=wave, reason="program review", actor=OPERATOR)
    assert section(client.get("/status/").content.decode(), "application-1") == (
        "Wave 1 Wave status Cancelled Your result Wave cancelled "
        "This wave was cancelled, so there is no draw. Your application ended with it. "
        "What to do: Join the next wave when it opens."
    )


def test_the_indonesian_page_keeps_the_wave_heading_and_section(client):
    [person] = people(1)
    drawn([person])

    page = page_for(client, person)

    assert '<section class="card" id="application-1" data-result="selected">' in page
    assert "<h3>Gelombang 1</h3>" in page
    assert page.index('id="card"') < page.index('id="waves"') < page.index('class="layers"')


# --- participant API ---------------------------------------------------------------------------


def test_the_api_gives_the_participant_card(client):
    [person] = people(1)
    drawn([person])
    deadline = deadline_in(11)
    participant_of(person, purchase_deadline=deadline)

    answer = client.get("/api/v1/me/participant", **token_for(client, person))

    assert answer.status_code == 200
    assert answer.json() == {
        "card_number": CARD,
        "status": "active",
        "wave": 1,
        "balance_idr": 1_000_000,
        "purchase_deadline": deadline.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days_left": 11,
        "revoked_at": None,
    }


def test_the_api_gives_a_revoked_card_without_days_left(client):
    [person] = people(1)
    drawn([person])
    participant_of(person, purchase_deadline=datetime.datetime(2020, 5, 20, 16, 59, 59, tzinfo=UTC))
    participants_revoke_due(
        actor=Actor.system("tests"), now=datetime.datetime(2020, 5, 21, 1, 0, tzinfo=UTC)
    )

    answer = client.get("/api/v1/me/participant", **token_for(client, person))

    assert answer.status_code == 200
    assert answer.json() == {
        "card_number": CARD,
        "status": "revoked",
        "wave": 1,
        "balance_idr": 0,
        "purchase_deadline": "2020-05-20T16:59:59Z",
        "days_left": None,
        "revoked_at": "2020-05-21T01:00:00Z",
    }


def test_a_non_participant_gets_404_not_a_participant_in_either_language(client):
    [person] = people(1)
    auth = token_for(client, person)

    answer = client.get("/api/v1/me/participant", **auth)
    english = client.get("/api/v1/me/participant", HTTP_ACCEPT_LANGUAGE="en", **auth)

    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "code": "NOT_A_PARTICIPANT",
            "message": "Anda belum menjadi peserta Kartu Prakerja. Ikuti gelombang yang dibuka "
            "dan tunggu hasil seleksinya.",
            "details": {},
        }
    }
    assert english.status_code == 404
    assert english.json()["error"]["message"] == (
        "You are not a Kartu Prakerja participant yet. Join an open wave and wait for its result."
    )
    assert client.get("/api/v1/me/participant").status_code == 401
    assert Participant.objects.count() == 0


def test_api_applications_carry_result_and_reason(client):
    first, second, in_school = people(3)
    # The draw records as ineligible only those the rule reaches: the in-school applicant is in
    # the priority group, so the rule meets them first.
    Registrant.objects.filter(pk=in_school.pk).update(employment="laid_off")
    in_school.refresh_from_db()
    wave = open_wave(quota=1, priority_order=["laid_off"])
    join(wave, [first, second, in_school])
    Registrant.objects.filter(pk=in_school.pk).update(in_school=True)
    wave_select(wave=closed(wave), seed=SEED, actor=OPERATOR)
    chosen = Participant.objects.get().registrant
    [other] = [r for r in (first, second) if r.pk != chosen.pk]
    wave_2 = open_wave()
    wave_carry_over(wave_id=wave_2.pk)
    WaveApplication.objects.update(applied_at=APPLIED_AT)

    def listed(registrant: Registrant) -> list[dict]:
        answer = client.get("/api/v1/me/applications", **token_for(client, registrant))
        assert answer.status_code == 200
        return answer.json()

    applied = "2020-04-11T03:00:00Z"
    assert listed(chosen) == [
        {
            "wave": 1,
            "wave_status": "selected",
            "outcome": "selected",
            "applied_at": applied,
            "result": "selected",
            "reason": None,
        }
    ]
    assert listed(other) == [
        {
            "wave": 2,
            "wave_status": "open",
            "outcome": "pending",
            "applied_at": applied,
            "result": "waiting",
            "reason": None,
        },
        {
            "wave": 1,
            "wave_status": "selected",
            "outcome": "pending",
            "applied_at": applied,
            "result": "not_selected",
            "reason": None,
        },
    ]
    assert listed(in_school) == [
        {
            "wave": 1,
            "wave_status": "selected",
            "outcome": "ineligible",
            "applied_at": applied,
            "result": "ineligible",
            "reason": "IN_SCHOOL",
        }
    ]


def test_joining_through_the_api_answers_with_the_result_too(client):
    [person] = people(1)
    open_wave()

    created = client.post("/api/v1/me/applications", **token_for(client, person))

    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ("wave", "outcome", "result", "reason")} == {
        "wave": 1,
        "outcome": "pending",
        "result": "waiting",
        "reason": None,
    }


def test_the_openapi_document_describes_the_participant_endpoint(client):
    spec = client.get("/api/v1/openapi.json").json()

    operation = spec["paths"]["/api/v1/me/participant"]["get"]
    assert sorted(operation["responses"]) == ["200", "401", "404"]
    assert operation["tags"] == ["waves"]
    assert "NOT_A_PARTICIPANT" in operation["description"]
    schemas = spec["components"]["schemas"]
    assert list(schemas["ParticipantOut"]["properties"]) == [
        "card_number",
        "status",
        "wave",
        "balance_idr",
        "purchase_deadline",
        "days_left",
        "revoked_at",
    ]
    assert list(schemas["ApplicationOut"]["properties"]) == [
        "wave",
        "wave_status",
        "outcome",
        "applied_at",
        "result",
        "reason",
    ]
    # Public, no parameters: it answers the wave or that none is open, nothing else.
    assert sorted(spec["paths"]["/api/v1/waves/open"]["get"]["responses"]) == ["200", "404"]


def test_a_participant_drawn_in_an_earlier_wave_reads_why_the_later_wave_passed_them_over(client):
    # Given a person who joined wave 2 while wave 1 (also joined) waited for its draw
    [person] = people(1)
    wave_1 = open_wave()
    join(wave_1, [person])
    wave_1 = closed(wave_1)
    wave_2 = open_wave()
    join(wave_2, [person])
    wave_2 = closed(wave_2)
    # When wave 1 selects them and wave 2 is drawn after
    wave_select(wave=wave_1, seed=SEED, actor=OPERATOR)
    wave_select(wave=wave_2, seed=SEED, actor=OPERATOR)

    page = page_for(client, person, language="en")

    assert section(page, "application-2") == (
        "Wave 2 Wave status Drawn Your result Not eligible "
        "You could not take part in this wave's draw. "
        "You are already a Kartu Prakerja participant from an earlier wave. "
        "A person can be a participant only once. "
        "What to do: Nothing: your card and its status are shown above."
    )
    assert section(page, "application-1") == (
        "Wave 1 Wave status Drawn Your result Selected "
        "Congratulations, you were selected in this wave. Your card is shown above."
    )
    assert Participant.objects.get().wave.number == 1
