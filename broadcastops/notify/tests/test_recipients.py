"""notify() for people: Slack mentions, e-mail (locmem), each recipient's channels and
language, and the throttle with its count of what it held back."""

import pytest
from django.core import mail

from broadcastops.notify.models import Notification, NotifyProfile
from broadcastops.notify.services import notification_deliver, notify

pytestmark = pytest.mark.django_db
Status = Notification.Status


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _alert(n=0, severity="warning", **kw):
    args = {
        "event": "schedule.check",
        "subject": f"schedule:{n}",
        "severity": severity,
        "title": f"Check {n}",
        "text": "Fix the CSS stream.",
        "facts": {"Channel": "channel-kbo-003"},
        "actions": ["Push the stream"],
    }
    args.update(kw)
    return notify(**args)


def _user(django_user_model, name, email="", **profile):
    user = django_user_model.objects.create_user(username=name, password="x", email=email)
    if profile:
        NotifyProfile.objects.create(user=user, **profile)
    return user


def test_a_recipient_with_a_slack_id_is_mentioned(slack, django_user_model):
    user = _user(django_user_model, "kim", slack_user_id="U0KIM0001")
    row = _alert(recipients=[user])
    assert notification_deliver(notification_id=row.pk).status == Status.SENT
    (message,) = slack.received
    assert message["text"].startswith(":warning: <@U0KIM0001>")
    assert "<@U0KIM0001>" in message["blocks"][1]["text"]["text"]
    assert not mail.outbox


def test_a_recipient_who_chose_email_gets_it_in_their_language_and_no_slack(
    slack, django_user_model
):
    from broadcastops.notify import messages as m

    user = _user(django_user_model, "lee", email="lee@example.com", channels="email", language="ko")
    row = _alert(title=m.FACT_CHANNEL(), recipients=[user])
    delivered = notification_deliver(notification_id=row.pk)
    assert delivered.status == Status.SENT and delivered.emailed_at is not None
    assert not slack.received
    (email,) = mail.outbox
    assert email.to == ["lee@example.com"]
    assert email.subject == m.FACT_CHANNEL().render("ko")
    assert "Fix the CSS stream." in email.body and "1. Push the stream" in email.body
    # Delivered once: delivering again sends nothing more.
    notification_deliver(notification_id=row.pk)
    assert len(mail.outbox) == 1


def test_both_channels_and_a_bad_mail_server_does_not_stop_slack(
    slack, django_user_model, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    user = _user(
        django_user_model,
        "park",
        email="park@example.com",
        channels="both",
        slack_user_id="U0PARK001",
    )
    delivered = notification_deliver(notification_id=_alert(recipients=[user]).pk)
    assert delivered.status == Status.SENT and len(slack.received) == 1
    assert "e-mail to user" in delivered.last_error and delivered.emailed_at is None


def test_a_recipient_who_chose_neither_gets_nothing(slack, django_user_model):
    user = _user(django_user_model, "choi", email="c@example.com", channels="none")
    delivered = notification_deliver(notification_id=_alert(recipients=[user]).pk)
    assert delivered.status == Status.SKIPPED and not slack.received and not mail.outbox


def test_without_a_profile_slack_is_in_the_team_language(slack, django_user_model, settings):
    from broadcastops.notify import messages as m

    settings.NOTIFY_LANGUAGE = "zh-hant"
    user = _user(django_user_model, "jung")
    notification_deliver(notification_id=_alert(title=m.FACT_STATE(), recipients=[user]).pk)
    assert slack.received[0]["blocks"][0]["text"]["text"] == m.FACT_STATE().render("zh-hant")


def test_the_throttle_holds_non_critical_alerts_and_says_how_many(slack, settings):
    settings.NOTIFY_RATE_MAX = 5
    settings.NOTIFY_FLAP_THRESHOLD = 100
    rows = [_alert(n) for n in range(8)]
    states = [notification_deliver(notification_id=r.pk).status for r in rows]
    assert states == [Status.SENT] * 5 + [Status.HELD] * 3
    assert len(slack.received) == 5
    # A critical one goes at once, and says how many were held back.
    critical = _alert(99, severity="critical")
    assert notification_deliver(notification_id=critical.pk).status == Status.SENT
    footer = slack.received[-1]["blocks"][-1]["elements"][0]["text"]
    assert "다른 알림 3건이 발송 제한으로 보류되었습니다" in footer  # ko: the default language


def test_the_same_alert_inside_five_minutes_is_counted_not_sent(slack, settings):
    assert settings.NOTIFY_DEDUP_WINDOW_S == 300
    first = _alert(1)
    again = _alert(1)
    assert again.pk == first.pk and again.suppressed_count == 1
