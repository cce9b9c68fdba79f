from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe


@require_safe
def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello, World!", content_type="text/plain; charset=utf-8")


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    # Liveness only: the process answers HTTP. There is no database or cache to check.
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
