from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from prakerja.catalog.search import regency_centroid, search_options, trainings_search
from prakerja.common.errors import ApplicationError
from prakerja.portal.account_views import show_refusal
from prakerja.portal.forms import TrainingSearchForm
from prakerja.portal.session import current_registrant
from prakerja.waves.selectors import scheme_active


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"scheme": scheme_active()})


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def training_search(request: HttpRequest) -> HttpResponse:
    """The catalog for everyone; a signed-in person also sees distances from their regency."""
    registrant = current_registrant(request)
    home = registrant.regency_code if registrant else ""
    if home and regency_centroid(home) is None:
        home = ""
    options = search_options()
    form = TrainingSearchForm(
        request.GET, categories=options.categories, platforms=options.platforms
    )
    results, notice = None, ""
    if form.is_valid():
        asked = {
            name: value for name, value in form.cleaned_data.items() if value not in ("", None)
        }
        sort = asked.pop("sort", "relevance")
        if sort == "distance" and not home:
            sort = "relevance"
            notice = _("Sign in to sort in-person trainings by distance from your home.")
        try:
            results = trainings_search(**asked, sort=sort, home_regency=home)
            if results.page > results.pages:  # a page number past the end: the last page
                asked["page"] = results.pages
                results = trainings_search(**asked, sort=sort, home_regency=home)
        except ApplicationError as error:
            show_refusal(form, error)
    return render(
        request,
        "portal/training_search.html",
        {"form": form, "results": results, "notice": notice, "home": home},
    )
