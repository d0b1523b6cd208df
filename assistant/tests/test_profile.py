import pytest

from broadcastops.notify.models import NotifyProfile

pytestmark = pytest.mark.django_db


def test_a_user_links_their_slack_id_on_the_profile_page(client, operator):
    client.force_login(operator)
    page = client.get("/assistant/profile/", HTTP_ACCEPT_LANGUAGE="ko")
    assert page.status_code == 200 and "Slack 멤버 ID" in page.content.decode()
    response = client.post(
        "/assistant/profile/",
        {"slack_user_id": "U0KIM0001", "channels": "slack", "language": "ko"},
    )
    assert response.status_code == 302
    assert NotifyProfile.objects.get(user=operator).slack_user_id == "U0KIM0001"


def test_a_slack_id_someone_else_holds_or_a_malformed_one_is_refused(client, operator, viewer):
    NotifyProfile.objects.create(user=viewer, slack_user_id="U0TAKEN01")
    client.force_login(operator)
    taken = client.post(
        "/assistant/profile/", {"slack_user_id": "U0TAKEN01", "channels": "slack", "language": "en"}
    )
    assert taken.status_code == 200 and "linked to another console user" in taken.content.decode()
    bad = client.post(
        "/assistant/profile/", {"slack_user_id": "kim", "channels": "slack", "language": "en"}
    )
    assert bad.status_code == 200 and "U012AB3CD" in bad.content.decode()
    assert not NotifyProfile.objects.filter(user=operator).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/assistant/profile/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
