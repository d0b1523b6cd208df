"""Pages of player errors: the statistics and the demo WHEP player."""

from django.http import HttpRequest, HttpResponse


def statistics_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("todo")


def demo_player_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("todo")
