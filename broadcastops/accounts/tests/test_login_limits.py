"""Failed sign-ins are limited per user name and address, on the admin and the token endpoint."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client

pytestmark = pytest.mark.django_db

HERE = "10.0.0.7"


def _admin_login(password: str, *, address: str = HERE, language: str = "en"):
    client = Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "operator", "password": password}
    )
    return client, response


def _token(client, password: str, *, address: str = HERE):
    return client.post(
        "/api/v1/auth/token/",
        {"username": "operator", "password": password},
        REMOTE_ADDR=address,
    )


def _signed_in(client) -> bool:
    return client.get("/api/v1/me/").status_code == 200


def test_the_admin_login_locks_after_the_limit_even_for_the_right_password(operator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _, wrong = _admin_login("wrong")
        assert wrong.status_code == 200  # the form again, with its error
    _, last = _admin_login("wrong")
    assert last.status_code == 429
    client, right = _admin_login("pw-operator")
    assert right.status_code == 429
    page = right.content.decode()
    assert "Too many failed sign-ins" in page and "15 minutes" in page
    assert right["Retry-After"] == "900"
    assert not _signed_in(client)


def test_the_lock_holds_one_user_name_from_one_address(operator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _admin_login("wrong")
    client, elsewhere = _admin_login("pw-operator", address="10.0.0.8")
    assert elsewhere.status_code == 302 and _signed_in(client)


def test_the_lockout_page_speaks_the_browser_language(operator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _admin_login("wrong")
    _, korean = _admin_login("pw-operator", language="ko")
    assert "로그인" in korean.content.decode()
    _, chinese = _admin_login("pw-operator", language="zh-hant")
    assert "登入" in chinese.content.decode()


def test_the_token_endpoint_shares_the_limit_and_answers_json(api_client, operator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _token(api_client, "wrong").status_code == 400
    locked = _token(api_client, "wrong")
    assert locked.status_code == 429
    right = _token(api_client, "pw-operator")
    assert right.status_code == 429
    body = right.json()
    assert body["code"] == "locked_out" and "Too many failed sign-ins" in body["message"]
    assert body["detail"] == {"retry_after_s": 900}
    assert "token" not in body


def test_the_lock_ends_after_the_cool_off(api_client, operator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _token(api_client, "wrong")
    assert _token(api_client, "pw-operator").status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert _token(api_client, "pw-operator").status_code == 200


def test_a_successful_sign_in_clears_earlier_failures(api_client, operator, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _token(api_client, "wrong")
    assert _token(api_client, "pw-operator").status_code == 200
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _token(api_client, "wrong").status_code == 400


def _attempts_page(user):
    client = Client()
    client.force_login(user)
    return client


def test_an_admin_unlocks_a_locked_sign_in_from_the_admin(operator, admin_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _admin_login("wrong")
    attempt = AccessAttempt.objects.get()
    done = _attempts_page(admin_user).post(
        "/admin/accounts/failedsignin/",
        {"action": "unlock", "_selected_action": [attempt.pk]},
        follow=True,
    )
    assert "Unlocked 1 user name and address" in done.content.decode()
    client, right = _admin_login("pw-operator")
    assert right.status_code == 302 and _signed_in(client)


def test_operators_neither_see_nor_unlock_sign_ins(operator, viewer, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _admin_login("wrong")
    attempt = AccessAttempt.objects.get()
    client = _attempts_page(operator)
    assert client.get("/admin/accounts/failedsignin/").status_code == 403
    client.post(
        "/admin/accounts/failedsignin/", {"action": "unlock", "_selected_action": [attempt.pk]}
    )
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
