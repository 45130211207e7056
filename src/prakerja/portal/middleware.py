from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation import check_for_language


class IndonesianFirstLocaleMiddleware(LocaleMiddleware):
    """Pages are in Bahasa Indonesia unless the person chose English with the switch (a cookie).
    A phone's browser language is not a choice: many Indonesian phones are set to English.
    JSON APIs still follow Accept-Language, which their clients set on purpose."""

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen and check_for_language(chosen):
            language = chosen
        elif request.path.startswith("/api/"):
            language = translation.get_language_from_request(request)
        else:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
