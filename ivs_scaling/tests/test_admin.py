"""The shows in the admin: created through the service, their stages, viewers, replication
and event log on one page, and the actions (Operators only) begun through the services."""

import pytest
from django.urls import reverse
from django.utils import timezone

from broadcastops.actions.models import OperatorAction
from ivs_scaling.models import Show, Stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client, operator):
    client.force_login(operator)
    return client


def test_a_show_added_in_the_admin_begins_its_master(ivs, console, operator):
    response = console.post(
        reverse("admin:ivs_scaling_show_add"),
        {
            "name": "evening",
            "capacity": 50,
            "scale_up_threshold": 45,
            "grace_period_s": 60,
            "max_stages": 6,
            "reconnect_window_s": 30,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    show = Show.objects.get(name="evening")
    (master,) = Stage.objects.filter(show=show)
    assert master.role == "master" and master.state == "creating"
    action = OperatorAction.objects.get(target_id=master.create_id)
    assert action.actor == operator and action.origin == "admin"


def test_the_admin_refuses_a_threshold_above_the_capacity(console):
    response = console.post(
        reverse("admin:ivs_scaling_show_add"),
        {
            "name": "bad",
            "capacity": 10,
            "scale_up_threshold": 11,
            "grace_period_s": 60,
            "max_stages": 6,
            "reconnect_window_s": 30,
        },
    )
    assert response.status_code == 200 and not Show.objects.exists()
    assert "errornote" in response.content.decode()


def test_the_show_page_has_stages_replication_and_the_event_log(show_kit, client, viewer):
    show_kit.live_with_a_secondary()
    client.force_login(viewer)
    page = client.get(reverse("admin:ivs_scaling_show_change", args=[show_kit.show.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "quiz-master" in html and "quiz-2" in html and "3 / 4" in html
    assert "Scale up: 3 viewers on 1 stages" in html
    assert "Replication of" in html and "started" in html
    assert show_kit.master.arn in html
    changelist = client.get(reverse("admin:ivs_scaling_stage_changelist")).content.decode()
    assert 'value="drain"' not in changelist  # Viewers read; they do not act


def test_operators_start_stop_replication_and_drain_from_the_stage_list(show_kit, console):
    show_kit.live_with_a_secondary()
    secondary = Stage.objects.get(role="secondary")
    url = reverse("admin:ivs_scaling_stage_changelist")
    assert 'value="drain"' in console.get(url).content.decode()
    for action in ("stop_replication", "start_replication", "drain"):
        response = console.post(
            url, {"action": action, "_selected_action": [secondary.pk]}, follow=True
        )
        assert "is running" in response.content.decode(), action
        show_kit.run_actions()
    kinds = list(
        OperatorAction.objects.filter(target_id=secondary.create_id)
        .order_by("pk")
        .values_list("action", "status", "origin")
    )
    assert kinds[-3:] == [
        ("ivs_stage.replication_stop", "succeeded", "admin"),
        ("ivs_stage.replication_start", "succeeded", "admin"),
        ("ivs_stage.drain", "succeeded", "admin"),
    ]
    secondary.refresh_from_db()
    assert secondary.state == "deleted"  # drained with no viewer on it: deleted at once
    response = console.post(
        url, {"action": "drain", "_selected_action": [show_kit.master.pk]}, follow=True
    )
    assert "cannot be drained" in response.content.decode()


def test_ending_a_show_from_the_admin(show_kit, console):
    url = reverse("admin:ivs_scaling_show_changelist")
    response = console.post(
        url, {"action": "end_shows", "_selected_action": [show_kit.show.pk]}, follow=True
    )
    assert "is running" in response.content.decode()
    show_kit.run_actions()
    assert show_kit.refresh().state == "ended"


def test_the_show_page_lists_its_stages_actions_in_korean(show_kit, console):
    """Operators see the show's audit trail: its stages' actions (not only the show's own),
    their progress read in Korean."""
    show_kit.live_with_a_secondary()
    page = console.get(
        reverse("admin:ivs_scaling_show_change", args=[show_kit.show.pk]),
        headers={"accept-language": "ko"},
    )
    html = page.content.decode()
    assert html.count("ivs_stage.create — 실행") == 2  # the master's and the secondary's
    assert "(보조)" in html  # the secondary's role, stored as a sentence, read in Korean
    assert "(secondary)" not in html


def test_the_event_log_filters_by_subject_and_shows_seconds(show_kit, client, viewer):
    """The log's filter speaks of subjects (the kinds are codes); its times go to the second."""
    show_kit.live_with_a_secondary()
    client.force_login(viewer)
    url = reverse("admin:ivs_scaling_showevent_changelist")
    whole = client.get(url, headers={"accept-language": "ko"}).content.decode()
    assert "복제" in whole and ">scale_up<" not in whole  # a subject, not a code
    replication = client.get(url, {"about": "replication"}).content.decode()
    assert "Replication of" in replication and "Scale up:" not in replication
    scaling = client.get(url, {"about": "scaling"}).content.decode()
    assert "Scale up:" in scaling and "Replication of" not in scaling
    first = show_kit.show.events.order_by("-at").first()
    assert timezone.localtime(first.at).strftime("%H:%M:%S") in whole
