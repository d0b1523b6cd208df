"""The authorisation matrix: every URL x method, admin action and socket x five identities.

The cells come from the project itself (``authz_matrix``), the expectations from each app's
``tests/authz.py``; README "Tests" says how a new endpoint adds its row.
"""

import logging

import pytest
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from broadcastops.accounts.roles import Role
from broadcastops.accounts.services import user_set_role
from broadcastops.tests import authz_matrix as matrix
from broadcastops.tests.authz_levels import IDENTITIES, Who

pytestmark = pytest.mark.django_db(transaction=True)

# An API refusal does no work: the token (or session) and the user's roles at most. (The
# admin's refusals look up the object and Django's model permissions first, by design.)
REFUSAL_MAX_QUERIES = 4


class SessionClient(Client):
    """A signed-in test client that signs in again when a request signed it out (logout)."""

    def __init__(self, user):
        super().__init__(raise_request_exception=False)
        self.user = user
        self.force_login(user)

    def request(self, **request):
        response = super().request(**request)
        cookie = self.cookies.get("sessionid")
        if cookie is None or not cookie.value:
            self.force_login(self.user)
        return response


@pytest.fixture(autouse=True)
def _quiet():
    # Each refusal logs a warning line (django.request, axes, health): thousands of them.
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture
def identities(django_user_model):
    """name -> (session client, API client) for the five identities."""
    made = {"anonymous": (Client(raise_request_exception=False),) * 2}
    roles = {"no role": None, "Viewer": Role.VIEWER, "Operator": Role.OPERATOR, "Admin": Role.ADMIN}
    for name, role in roles.items():
        user = django_user_model.objects.create_user(username=f"authz-{name.replace(' ', '-')}")
        if role is not None:
            user_set_role(user=user, role=role)
        session = SessionClient(user)
        token = Token.objects.create(user=user)
        api = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token.key}")
        made[name] = (session, api)
    return made


def _verdict(expected: Who, rank: int) -> bool:
    return rank >= expected


def test_every_endpoint_action_and_socket_has_a_row_and_every_row_one():
    found = matrix.tables()
    problems = list(found.duplicates)
    cells = matrix.url_cells()
    for cell in cells:
        for method in cell.methods:
            expected = matrix.expected_for_url(cell, method, found)
            if isinstance(expected, str):
                problems.append(f"{method} /{cell.route}: {expected}")
    for action in matrix.admin_action_cells():
        if not action.permissions:
            problems.append(f"admin action {action.key}: declares no permissions=[...]")
        if isinstance(matrix.expected_for_action(action, found), str):
            problems.append(f"admin action {action.key}: no ADMIN_ACTIONS row")
    routes = matrix.socket_cells()
    problems += [f"socket {r}: no SOCKETS row" for r in routes if r not in found.sockets]
    # Rows naming nothing that exists: an endpoint went away, or a typo hides a missing row.
    keys = {c.key for c in cells} | {c.route for c in cells}
    problems += [f"ROUTES row {k!r} names no URL" for k in found.routes if k not in keys]
    actions = {a.key for a in matrix.admin_action_cells()}
    problems += [
        f"ADMIN_ACTIONS row {k!r}: no such action" for k in found.admin_actions if k not in actions
    ]
    problems += [f"SOCKETS row {k!r}: no such route" for k in found.sockets if k not in routes]
    models = {matrix.model_label(c.model_admin) for c in cells if c.model_admin is not None}
    problems += [
        f"ADMIN_MODELS row {k!r}: not in the admin" for k in found.admin_models if k not in models
    ]
    problems += [
        f"admin model {m}: no SAMPLES row for its object pages"
        for m in models
        if m not in found.samples
    ]
    assert problems == [], "\n".join(["Write the rows in <app>/tests/authz.py:", *problems])


def _samples(found) -> dict[str, str]:
    """label -> primary key of one row, for the admin's object pages."""
    return {label: str(make().pk) for label, make in found.samples.items()}


def test_every_url_answers_each_identity_as_its_table_says(identities):
    found = matrix.tables()
    objects = _samples(found)
    wrong = []
    for cell in matrix.url_cells():
        overrides = {}
        if cell.model_admin is not None:
            overrides["object_id"] = objects.get(matrix.model_label(cell.model_admin), "1")
        path = cell.path(**overrides)
        api = path.startswith("/api/")
        for method in cell.methods:
            expected = matrix.expected_for_url(cell, method, found)
            if isinstance(expected, str):
                continue  # reported by the test above
            for name, rank in IDENTITIES.items():
                client = identities[name][1 if api else 0]
                with CaptureQueriesContext(connection) as queries:
                    response = getattr(client, method.lower())(path)
                status = response.status_code
                is_refused = matrix.refused(status, response.get("Location", ""))
                should = _verdict(expected, rank)
                where = f"{method} {path} as {name} (table: {expected.name})"
                if status == 500:
                    wrong.append(f"{where}: {status}")
                elif is_refused == should:
                    wrong.append(f"{where}: {'refused' if is_refused else 'allowed'} ({status})")
                elif api and name == "anonymous" and len(queries):
                    wrong.append(f"{where}: anonymous, yet {len(queries)} database queries")
                elif api and is_refused and len(queries) > REFUSAL_MAX_QUERIES:
                    wrong.append(f"{where}: refused after {len(queries)} queries (work done)")
    assert wrong == [], "\n".join(wrong)


def test_every_admin_action_is_offered_to_whom_its_table_says(identities):
    found = matrix.tables()
    _samples(found)  # an empty list offers no action at all
    cells = matrix.admin_action_cells()
    wrong = []
    for changelist in sorted({c.changelist for c in cells}):
        offered = {}
        for name in IDENTITIES:
            response = identities[name][0].get(changelist)
            html = response.content.decode() if response.status_code == 200 else ""
            offered[name] = matrix.offered_actions(html)
        for cell in (c for c in cells if c.changelist == changelist):
            expected = matrix.expected_for_action(cell, found)
            if isinstance(expected, str):
                continue
            for name, rank in IDENTITIES.items():
                if (cell.name in offered[name]) != _verdict(expected, rank):
                    state = "offered" if cell.name in offered[name] else "not offered"
                    wrong.append(f"{cell.key} as {name} (table: {expected.name}): {state}")
    assert wrong == [], "\n".join(wrong)


async def test_every_socket_accepts_whom_its_table_says(identities, settings):
    # One event loop for every attempt (a test's own, closed with its tasks at the end): the
    # sockets leave per-loop listeners behind, on the channel layer in the scaled mode.
    settings.STREAMING_REDIS_URL = ""
    from broadcastops.asgi import application

    found = matrix.tables()
    cookies = {
        name: (clients[0].cookies["sessionid"].value if "sessionid" in clients[0].cookies else "")
        for name, clients in identities.items()
    }

    async def attempt(path: str, cookie: str) -> bool:
        headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
        if cookie:
            headers.append((b"cookie", f"sessionid={cookie}".encode()))
        comm = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await comm.connect(timeout=10)
        if connected:
            await comm.disconnect()
        return connected

    wrong = []
    for route in matrix.socket_cells():
        expected = found.sockets.get(route)
        if expected is None:
            continue
        path = matrix.socket_path(route)
        for name, rank in IDENTITIES.items():
            accepted = await attempt(path, cookies[name])
            if accepted != _verdict(expected, rank):
                state = "accepted" if accepted else "refused"
                wrong.append(f"{path} as {name} (table: {expected.name}): {state}")
    assert wrong == [], "\n".join(wrong)
