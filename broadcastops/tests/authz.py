"""Who may use the project's own URLs and Django's admin models (the authorisation matrix).

Each app keeps its rows in ``<app>/tests/authz.py`` (same names: ROUTES, ADMIN_MODELS,
ADMIN_ACTIONS, SOCKETS, SAMPLES); ``broadcastops/tests/test_authz_matrix.py`` collects them.
A ROUTES key is the URL's name (``namespace:name``) or, for a pattern without one, its route
as Django shows it; the value is a level for every method the view answers, or one per method.
"""

from broadcastops.tests.authz_levels import ADMIN, ANYONE, NO_ONE, SIGNED_IN, VIEWER


def _user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username="authz-sample")


def _group():
    from django.contrib.auth.models import Group

    return Group.objects.create(name="authz-sample")


def _token():
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token, TokenProxy

    owner = get_user_model().objects.create_user(username="authz-token-owner")
    Token.objects.create(user=owner)
    return TokenProxy.objects.get(user=owner)  # the admin names it by its user's id


ROUTES = {
    "": ANYONE,  # the site root: a redirect to the console
    "healthz": ANYONE,  # load balancers
    "metrics": NO_ONE,  # the scraper's bearer token only (METRICS_TOKEN)
    "admin:login": ANYONE,
    "admin:logout": ANYONE,
    "admin:index": VIEWER,  # the console: every role, nobody without one
    "admin:password_change": VIEWER,
    "admin:password_change_done": VIEWER,
    # Without the field it completes, the admin refuses every caller (403); POST is a 405.
    "admin:autocomplete": {"GET": NO_ONE, "POST": VIEWER},
    "admin:jsi18n": VIEWER,
    "admin:view_on_site": VIEWER,
    "admin:app_list": VIEWER,
    "admin/(?P<url>.*)$": VIEWER,  # the admin's catch-all: 404, or the login for strangers
    "set_language": ANYONE,
    "javascript-catalog": ANYONE,  # the pages' translations (static text, no query)
    "schema": ANYONE,
    "api-docs": ANYONE,
    "auth-token": ANYONE,  # the sign-in itself (limited per user name and address)
    "me": SIGNED_IN,
    "^api/(?P<rest>.*)$": ANYONE,  # unknown API URLs: the JSON 404
}

_ADMINS_ONLY = {"view": ADMIN, "add": ADMIN, "change": ADMIN, "delete": ADMIN}
ADMIN_MODELS = {
    "auth.user": _ADMINS_ONLY,
    "auth.group": _ADMINS_ONLY,
    "authtoken.tokenproxy": _ADMINS_ONLY,
}
SAMPLES = {"auth.user": _user, "auth.group": _group, "authtoken.tokenproxy": _token}
