import pytest
from django.contrib.auth.models import Group
from django.test import override_settings
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.rest import IsAdmin, IsOperator, ViewerReadsOperatorWrites

pytestmark = pytest.mark.django_db


class OperatorOnlyApi(APIView):
    permission_classes = [IsOperator]

    def post(self, request):
        return Response({"done": True})


class AdminOnlyApi(APIView):
    permission_classes = [IsAdmin]

    def get(self, request):
        return Response({"secret": "settings"})


class ReadWriteApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    def get(self, request):
        return Response({"items": []})

    def post(self, request):
        return Response({"created": True}, status=201)


urlpatterns = [
    path("api/v1/test/operate", OperatorOnlyApi.as_view()),
    path("api/v1/test/admin", AdminOnlyApi.as_view()),
    path("api/v1/test/items", ReadWriteApi.as_view()),
]


def test_migration_creates_the_three_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Viewer", "Operator", "Admin"}


def test_viewer_group_may_only_view_and_admin_holds_user_management():
    viewer = Group.objects.get(name="Viewer")
    assert viewer.permissions.exists() is False or all(
        p.codename.startswith("view_") for p in viewer.permissions.all()
    )
    admin = Group.objects.get(name="Admin")
    assert admin.permissions.filter(codename="change_user").exists()
    assert not Group.objects.get(name="Operator").permissions.filter(codename="change_user")


def test_roles_include_the_lower_ones(viewer, operator, admin_user, nobody):
    assert user_has_role(viewer, Role.VIEWER) and not user_has_role(viewer, Role.OPERATOR)
    assert user_has_role(operator, Role.VIEWER) and user_has_role(operator, Role.OPERATOR)
    assert not user_has_role(operator, Role.ADMIN)
    assert user_has_role(admin_user, Role.ADMIN)
    assert not user_has_role(nobody, Role.VIEWER)


def test_every_role_may_open_the_console(viewer):
    assert viewer.is_staff


@override_settings(ROOT_URLCONF=__name__)
def test_operator_only_view_refuses_a_viewer_with_the_error_body(viewer_client, operator_client):
    refused = viewer_client.post("/api/v1/test/operate")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert refused.json()["message"]
    assert operator_client.post("/api/v1/test/operate").json() == {"done": True}


@override_settings(ROOT_URLCONF=__name__)
def test_admin_only_view_refuses_an_operator(operator_client, admin_client_api):
    assert operator_client.get("/api/v1/test/admin").status_code == 403
    assert admin_client_api.get("/api/v1/test/admin").status_code == 200


@override_settings(ROOT_URLCONF=__name__)
def test_viewer_reads_but_cannot_write(viewer_client, operator_client, api_client, nobody):
    assert viewer_client.get("/api/v1/test/items").status_code == 200
    assert viewer_client.post("/api/v1/test/items").status_code == 403
    assert operator_client.post("/api/v1/test/items").status_code == 201
    api_client.force_authenticate(nobody)
    assert api_client.get("/api/v1/test/items").status_code == 403


def test_me_lists_the_roles_held(operator_client):
    body = operator_client.get("/api/v1/me/").json()
    assert body == {"username": "operator", "roles": ["Viewer", "Operator"]}


def test_token_login_then_token_auth(api_client, operator):
    token = api_client.post(
        "/api/v1/auth/token/", {"username": "operator", "password": "pw-operator"}
    ).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/me/").json()["username"] == "operator"


def test_token_login_with_a_wrong_password_is_a_400_with_a_message(api_client, operator):
    response = api_client.post("/api/v1/auth/token/", {"username": "operator", "password": "x"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["message"] and body["detail"]


def test_ensure_admin_creates_once_and_prints_the_password_once(capsys):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("ensure_admin")
    first = capsys.readouterr().out
    assert "password:" in first
    password = first.split("password:")[1].split()[0]
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password(password)
    call_command("ensure_admin")
    second = capsys.readouterr().out
    assert "password" not in second.lower().replace("keeping", "")
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
