"""Notification settings in the console: each user edits their own (*My notifications*),
Admins see and edit everyone's; refusals explain themselves and write nothing."""

import pytest
from django.core import mail
from django.test import Client

from broadcastops.notify import messages as m
from broadcastops.notify.models import NotifyProfile
from broadcastops.notify.services import notification_deliver, notify

pytestmark = pytest.mark.django_db
MINE = "/admin/notify/notifyprofile/mine/"


def _client(user):
    client = Client(headers={"accept-language": "ko"})
    client.force_login(user)
    return client


def test_a_viewer_sets_their_own_slack_id_email_channels_and_language(viewer, slack):
    client = _client(viewer)
    page = client.get(MINE)
    assert page.status_code == 200 and "Slack 멤버 ID" in page.content.decode()
    assert "내 알림 설정" in page.content.decode()
    form = {
        "slack_user_id": "U0VIEW001",
        "channels": "both",
        "language": "zh-hant",
        "email": "viewer@example.test",
    }
    response = client.post(MINE, form)
    assert response.status_code == 302 and response["Location"] == MINE
    profile = NotifyProfile.objects.get(user=viewer)
    assert (profile.slack_user_id, profile.channels, profile.language) == (
        "U0VIEW001",
        "both",
        "zh-hant",
    )
    viewer.refresh_from_db()
    assert viewer.email == "viewer@example.test"
    # What notify() does with them: a mention in Slack, a mail, in Traditional Chinese.
    row = notify(
        event="channel.flapping",
        subject="c",
        severity="warning",
        title=m.FLAPPING_TITLE(subject="c"),
        recipients=[viewer],
    )
    notification_deliver(notification_id=row.pk)
    assert "<@U0VIEW001>" in slack.received[0]["text"]
    assert mail.outbox[0].to == ["viewer@example.test"] and "反覆切換中" in mail.outbox[0].subject
    # The page shows what was saved.
    assert 'value="U0VIEW001"' in client.get(MINE).content.decode()


def test_bad_settings_are_refused_with_the_reason_and_nothing_written(operator):
    client = _client(operator)
    for form, field_error in (
        (
            {"slack_user_id": "not an id", "channels": "slack", "language": "ko", "email": ""},
            "U012AB3CD",
        ),
        (
            {"slack_user_id": "", "channels": "email", "language": "ko", "email": ""},
            "이메일로 알림을 받으려면",
        ),
        ({"slack_user_id": "", "channels": "pigeon", "language": "ko", "email": ""}, "pigeon"),
        (
            {"slack_user_id": "", "channels": "slack", "language": "ko", "email": "x@"},
            "유효한 이메일",
        ),
    ):
        response = client.post(MINE, form)
        assert response.status_code == 400, form
        assert field_error in response.content.decode(), form
    assert not NotifyProfile.objects.exists()


def test_a_slack_id_linked_to_someone_else_is_refused(operator, viewer):
    NotifyProfile.objects.create(user=viewer, slack_user_id="U0SHARED1")
    response = _client(operator).post(
        MINE, {"slack_user_id": "U0SHARED1", "channels": "slack", "language": "ko", "email": ""}
    )
    assert response.status_code == 400
    assert "이미 다른 콘솔 사용자" in response.content.decode()
    assert not NotifyProfile.objects.filter(user=operator).exists()


def test_only_admins_see_everyones_settings(operator, admin_user):
    NotifyProfile.objects.create(user=operator, slack_user_id="U0OPER001")
    assert _client(operator).get("/admin/notify/notifyprofile/").status_code == 403
    page = _client(admin_user).get("/admin/notify/notifyprofile/")
    assert page.status_code == 200 and "U0OPER001" in page.content.decode()
    response = _client(admin_user).get(
        f"/admin/notify/notifyprofile/{operator.notify_profile.pk}/change/"
    )
    assert response.status_code == 200


def test_a_user_without_a_role_is_refused(nobody):
    assert _client(nobody).get(MINE).status_code in (302, 403)
