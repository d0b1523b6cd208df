"""Who reads the audit trail: Operators and Admins, the list and every entry alike."""

import pytest
from rest_framework.test import APIClient

from broadcastops.actions.models import OperatorAction

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "nobody", "viewer", "operator", "admin_user"]
# One rule for the list and the entries, under both names (issue 13).
ALLOWED = {"anonymous": 401, "nobody": 403, "viewer": 403, "operator": 200, "admin_user": 200}


@pytest.fixture
def action(db):
    return OperatorAction.objects.create(
        actor_name="someone",
        origin="slack",
        origin_ref="U0123",
        action="channel.restart",
        target_type="channel",
        target_id="C1",
        target_name="channel-one",
        progress=[
            {
                "at": "2026-01-01T00:00:00+00:00",
                "step": "Stopping channel-one (it was RUNNING).",
                "msg": {
                    "id": "Stopping %(name)s (it was %(state)s).",
                    "params": {"name": "channel-one", "state": "RUNNING"},
                },
            }
        ],
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "url", ["/api/v1/actions/", "/api/v1/actions/{id}/", "/api/v1/audit/", "/api/v1/audit/{id}/"]
)
def test_operators_and_admins_read_the_audit_trail_and_nobody_else(request, role, url, action):
    client = APIClient()
    if role != "anonymous":
        client.force_authenticate(request.getfixturevalue(role))
    response = client.get(url.format(id=action.pk))
    assert response.status_code == ALLOWED[role], response.content
    if response.status_code == 200:
        body = response.json()
        entry = body["results"][0] if "results" in body else body
        assert entry["id"] == action.pk and entry["origin_ref"] == "U0123"
    else:
        assert response.json()["code"] in ("not_authenticated", "permission_denied")


def test_an_entry_is_shown_in_the_readers_language(operator, action):
    client = APIClient()
    client.force_authenticate(operator)
    english = client.get(f"/api/v1/actions/{action.pk}/").json()
    korean = client.get(f"/api/v1/actions/{action.pk}/", HTTP_ACCEPT_LANGUAGE="ko").json()
    assert english["progress"][0]["step"] == "Stopping channel-one (it was RUNNING)."
    assert korean["progress"][0]["step"] == "channel-one을(를) 중지합니다 (이전 상태: RUNNING)."
    assert korean["status_display"] == "실행 중"


def test_the_list_filters_and_writes_are_refused(operator, action):
    client = APIClient()
    client.force_authenticate(operator)
    assert client.get("/api/v1/actions/?origin=slack").json()["count"] == 1
    assert client.get("/api/v1/actions/?status=failed").json()["count"] == 0
    assert client.post("/api/v1/actions/", {}).status_code == 405
    assert client.delete(f"/api/v1/actions/{action.pk}/").status_code == 405
    assert client.get("/api/v1/actions/999999/").status_code == 404
