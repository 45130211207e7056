"""GET /metrics: the disbursement's live state of the approved runs (live_state.py) as Prometheus
gauges, text exposition format 0.0.4, written by hand (a dozen lines need no client library).

Only a scraper holding PRAKERJA_METRICS_TOKEN as its bearer token is answered; anyone else, and
everyone while the variable is empty, gets the site's ordinary 404, so that neither the figures
nor the endpoint's existence show.
"""

import hmac

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed

from prakerja.config import env
from prakerja.incentives.live_state import LiveState, disbursement_live_state

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_view(request: HttpRequest) -> HttpResponse:
    # The token first, even before the method: a 405 would tell anyone the endpoint exists.
    if not _authorized(request):
        raise Http404
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return HttpResponse(metrics_text(disbursement_live_state()), content_type=CONTENT_TYPE)


def _authorized(request: HttpRequest) -> bool:
    expected = env.get("PRAKERJA_METRICS_TOKEN")  # read per request: set without a restart
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def metrics_text(state: LiveState) -> str:
    out: list[str] = []

    def gauge(name: str, help_text: str, samples: list[tuple[str, int]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} gauge")
        out.extend(f"{name}{labels} {value}" for labels, value in samples)

    def by(label: str, key: str) -> str:
        return f'{{{label}="{_escaped(key)}"}}'

    gauge(
        "prakerja_disbursement_batches",
        "Batches of approved runs by status.",
        [(by("status", row.key), row.count) for row in state.batches],
    )
    gauge(
        "prakerja_disbursement_instructions_in_flight",
        "Transfer instructions of approved runs not yet paid or failed, by status.",
        [(by("status", row.key), row.count) for row in state.in_flight],
    )
    gauge(
        "prakerja_disbursement_outcome_unknown_batches",
        "Batches sending: sent, the outcome not yet confirmed with the institution.",
        [("", state.outcome_unknown.count)],
    )
    gauge(
        "prakerja_disbursement_outcome_unknown_oldest_seconds",
        "Seconds since the oldest batch still sending was sent (0: none).",
        [("", state.outcome_unknown_oldest_s or 0)],
    )
    gauge(
        "prakerja_disbursement_awaiting_results",
        "Instructions accepted in sent batches, their results not yet in.",
        [("", state.awaiting_results.count)],
    )
    gauge(
        "prakerja_disbursement_awaiting_results_oldest_seconds",
        "Seconds since the oldest batch with results not yet in was sent (0: none).",
        [("", state.awaiting_results_oldest_s or 0)],
    )
    gauge(
        "prakerja_disbursement_paid_total",
        "Instructions of approved runs paid.",
        [("", state.paid.count)],
    )
    gauge(
        "prakerja_disbursement_paid_idr",
        "Rupiah of the instructions of approved runs paid.",
        [("", state.paid.amount_idr)],
    )
    # Gauges despite the _total suffix: they count the approved runs' rows and fall back to 0
    # when a run is done; failures over all time are in the console's failures page.
    gauge(
        "prakerja_disbursement_failed_total",
        "Instructions of approved runs failed, by reason code.",
        [(by("reason", row.key), row.count) for row in state.failed],
    )
    gauge(
        "prakerja_disbursement_failed_idr",
        "Rupiah of the instructions of approved runs failed, by reason code.",
        [(by("reason", row.key), row.amount_idr) for row in state.failed],
    )
    gauge(
        "prakerja_entitlements_held",
        "Entitlements held, by hold reason (the whole program).",
        [(by("reason", row.key), row.count) for row in state.held],
    )
    gauge(
        "prakerja_entitlements_held_idr",
        "Rupiah of the entitlements held, by hold reason (the whole program).",
        [(by("reason", row.key), row.amount_idr) for row in state.held],
    )
    return "\n".join(out) + "\n"


def _escaped(value: str) -> str:
    """A label value as the format quotes it (reason codes are plain, but say so once)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
