from django.http import HttpResponse
from django.shortcuts import render

from kefu.core.errors import DomainError


class DomainErrorMiddleware:
    """A DomainError that escapes a page view becomes a page with its message, never a 500.

    The API has its own handler (kefu.api); views that can re-show a form catch the error
    themselves and put the message next to the field.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        if getattr(request, "htmx", False):
            message = _escape(exception.message)
            return HttpResponse(
                f'<div class="alert alert-danger mb-0" role="alert">{message}</div>',
                status=exception.status,
            )
        # error.html shows the message itself; adding it to ``messages`` too showed it twice.
        return render(request, "error.html", {"error": exception}, status=exception.status)


def _escape(text):
    from django.utils.html import escape

    return escape(str(text))


class ChineseFirstLocaleMiddleware:
    """Chinese unless the user picked another language with the selector (the language cookie).

    Staff machines often run English-language browsers; the browser's Accept-Language must not
    switch a Chinese service desk to English. Set KEFU_BROWSER_LANGUAGE=true to honour it.
    """

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.honour_browser = settings.BROWSER_LANGUAGE

    def __call__(self, request):
        if not self.honour_browser:
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
