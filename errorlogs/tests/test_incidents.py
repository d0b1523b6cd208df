"""Outages: many viewers failing at once open one incident and one alert naming the show on
air and what the probe saw; it resolves once after a quiet period. The probe alone sees a
stopped server."""

from datetime import timedelta

import pytest
from django.utils import timezone

from broadcastops import registry
from broadcastops.notify.models import Notification
from broadcastops.notify.services import notification_render
from broadcastops.on_air import OnAir
from errorlogs import services
from errorlogs.models import ErrorReport, ErrorType, Incident, ProbeResult
from errorlogs.tests.conftest import report
from errorlogs.types import Client
from errorlogs.validation import reports_parse

pytestmark = pytest.mark.django_db


def player_reports(standin_url, *, viewers, stream="stitched", per_viewer=3):
    import json

    items = [
        report(streamId=stream, clientId=f"viewer-{v}", whepUrl=f"{standin_url}/{stream}/whep")
        for v in range(viewers)
        for _ in range(per_viewer)
    ]
    return reports_parse(
        json.dumps(items).encode(),
        content_type="application/json",
        client=Client(address="10.0.0.9"),
        received_at=timezone.now(),
    )


def on_air_stand_in(*, stream_id, host, at):
    """What the scheduling app will answer (registry.ON_AIR_LOOKUP)."""
    if stream_id == "stitched":
        return OnAir(title="Evening news", schedule_id="42", starts_at=at - timedelta(minutes=5))
    return None


@pytest.fixture
def on_air():
    with registry.ON_AIR_LOOKUP.registered(on_air_stand_in):
        yield


def keep_and_verify(reports, django_capture_on_commit_callbacks):
    """Keep reports as the writer does; run what was enqueued (the verify task) as a function."""
    with django_capture_on_commit_callbacks() as callbacks:
        services.reports_store(reports=reports)
    opened = list(Incident.objects.filter(alerted_at__isnull=True))
    for incident in opened:
        services.incident_verify(incident_id=incident.pk)
    return callbacks


def test_many_viewers_open_one_incident_and_one_alert_naming_the_show(
    mediamtx, on_air, django_capture_on_commit_callbacks
):
    mediamtx.stop()  # the server is down: every player fails at once
    for _batch in range(4):  # the outage's reports arrive over many batches
        keep_and_verify(
            player_reports(mediamtx.url, viewers=12), django_capture_on_commit_callbacks
        )
    incident = Incident.objects.get()
    assert incident.state == Incident.State.OPEN
    assert incident.trigger == Incident.Trigger.VIEWERS
    assert incident.verdict == Incident.Verdict.SERVER_DOWN
    assert incident.viewer_count == 12 and incident.report_count == 4 * 36
    assert incident.on_air == [
        {**incident.on_air[0], "streamId": "stitched", "title": "Evening news", "scheduleId": "42"}
    ]
    [alert] = Notification.objects.all()
    assert alert.event == "errorlogs.incident_opened"
    assert "12 viewers" in alert.title_message.render()
    text = alert.text_message.render()
    assert "Evening news" in text and "MediaMTX server down" in text
    # Stored as codes, not as the worker's sentence: each reader gets their own language.
    assert alert.title["code"] == "errorlogs.incident.opened_viewers"
    assert alert.text["code"] == "errorlogs.incident.opened_text"
    assert all("code" in label for label, _value in alert.facts)
    korean = notification_render(notification=alert, language="ko")
    assert "시청자 12명" in korean.title and "MediaMTX 서버 중단" in korean.text
    assert ("영향받은 시청자", "12") in korean.facts
    chinese = notification_render(notification=alert, language="zh-hant")
    assert "12" in chinese.title and "Evening news" in chinese.text
    assert chinese.title != alert.title_message.render("en")


def test_fewer_viewers_than_the_threshold_open_nothing(
    mediamtx, django_capture_on_commit_callbacks
):
    keep_and_verify(
        player_reports(mediamtx.url, viewers=4, per_viewer=10), django_capture_on_commit_callbacks
    )
    assert not Incident.objects.exists() and not Notification.objects.exists()


def test_a_stream_not_published_is_told_apart_from_viewers_network(
    mediamtx, django_capture_on_commit_callbacks
):
    mediamtx.publish("stitched", online=False)
    keep_and_verify(player_reports(mediamtx.url, viewers=6), django_capture_on_commit_callbacks)
    incident = Incident.objects.get()
    assert incident.verdict == Incident.Verdict.PATH_NOT_PUBLISHED
    assert incident.probe_detail["unpublished"] == ["stitched"]


def test_server_and_stream_fine_means_only_some_viewers_fail(
    mediamtx, django_capture_on_commit_callbacks
):
    mediamtx.publish("stitched", online=True, readers=30)
    keep_and_verify(player_reports(mediamtx.url, viewers=6), django_capture_on_commit_callbacks)
    incident = Incident.objects.get()
    assert incident.verdict == Incident.Verdict.VIEWERS_ONLY
    assert incident.probe_detail["paths"]["stitched"]["readers"] == 30


def test_an_unconfigured_server_is_never_probed(settings, django_capture_on_commit_callbacks):
    settings.ERRORLOGS_MEDIAMTX_SERVERS = []
    keep_and_verify(
        player_reports("http://127.0.0.1:9", viewers=6), django_capture_on_commit_callbacks
    )
    assert Incident.objects.get().verdict == Incident.Verdict.NOT_PROBED


def test_the_alert_is_sent_once_whatever_the_task_deliveries(
    mediamtx, django_capture_on_commit_callbacks
):
    keep_and_verify(player_reports(mediamtx.url, viewers=6), django_capture_on_commit_callbacks)
    incident = Incident.objects.get()
    services.incident_verify(incident_id=incident.pk)  # redelivered
    assert Notification.objects.count() == 1


def test_it_resolves_once_after_the_quiet_period_with_a_notice(
    mediamtx, settings, django_capture_on_commit_callbacks
):
    keep_and_verify(player_reports(mediamtx.url, viewers=6), django_capture_on_commit_callbacks)
    now = timezone.now()
    assert services.incidents_resolve(now=now) == []  # still failing
    later = now + timedelta(seconds=settings.ERRORLOGS_INCIDENT_QUIET_S + 1)
    [resolved] = services.incidents_resolve(now=later)
    assert resolved.state == Incident.State.RESOLVED and resolved.viewer_count == 6
    assert services.incidents_resolve(now=later) == []
    events = list(Notification.objects.order_by("created_at").values_list("event", flat=True))
    assert events == ["errorlogs.incident_opened", "errorlogs.incident_resolved"]
    # A new failure after it resolved is a new incident.
    keep_and_verify(player_reports(mediamtx.url, viewers=6), django_capture_on_commit_callbacks)
    assert Incident.objects.filter(state=Incident.State.OPEN).count() == 1


def test_the_probe_records_an_outage_of_a_stopped_server_with_no_player_open(
    mediamtx, settings, django_capture_on_commit_callbacks
):
    mediamtx.publish("stitched", online=True)
    [fine] = services.probes_run()
    assert fine.verdict == ProbeResult.Verdict.OK and fine.paths["stitched"]["online"]
    assert "DELETE" in {m for m, _p in mediamtx.requests}, "the probe's WHEP session stays open"
    mediamtx.stop()
    with django_capture_on_commit_callbacks(execute=False):
        [down] = services.probes_run()
    assert down.verdict == ProbeResult.Verdict.SERVER_DOWN
    failed = ErrorReport.objects.get(error_type=ErrorType.PROBE_FAILED)
    assert failed.stream_id == "stitched" and failed.whep_host == f"127.0.0.1:{mediamtx.port}"
    assert not Incident.objects.exists()  # one failed probe may be a blip
    with django_capture_on_commit_callbacks(execute=False):
        services.probes_run()
    incident = Incident.objects.get()
    assert incident.trigger == Incident.Trigger.PROBE
    assert incident.verdict == Incident.Verdict.SERVER_DOWN
    services.incident_verify(incident_id=incident.pk)
    [alert] = Notification.objects.all()
    assert "server down" in alert.title_message.render().lower()


def test_the_probe_reads_an_older_servers_fields(settings):
    from errorlogs.tests.mediamtx_standin import MediaMTXStandIn

    old = MediaMTXStandIn(legacy=True)
    old.start()
    try:
        old.publish("stitched", online=True, readers=2)
        for i in range(150):  # more than one page
            old.publish(f"cam-{i}", online=False)
        settings.ERRORLOGS_MEDIAMTX_SERVERS = [old.server_setting(paths=("stitched",))]
        [result] = services.probes_run()
        assert result.verdict == ProbeResult.Verdict.OK
        assert result.paths["stitched"] == {
            "online": True,
            "readers": 2,
            "inboundBytes": 1000,
            "tracks": ["H264"],
        }
        assert ("GET", "/v3/paths/list") in old.requests
        assert len([r for r in old.requests if r == ("GET", "/v3/paths/list")]) == 2
    finally:
        old.stop()


def test_alerts_stored_as_text_before_the_codes_become_codes_again():
    """The migration 0002_alert_messages: an alert the older code stored as its worker's
    Korean text is read back into codes and parameters, and shown in Chinese; a sentence
    that is none of errorlogs' stays as it was."""
    import importlib

    from django.apps import apps

    from broadcastops.i18n import Message
    from errorlogs import messages as m

    migration = importlib.import_module("errorlogs.migrations.0002_alert_messages")
    verdict = m.VERDICT[Incident.Verdict.SERVER_DOWN]()
    old = {
        "title": m.OPENED_BY_VIEWERS(viewers="12", scope=m.SCOPE_STREAM(stream="cam-1")),
        "text": m.OPENED_TEXT(verdict=verdict, shows="Evening news (cam-1)"),
        "facts": [(m.FACT_VIEWERS(), "12"), (m.FACT_VERDICT(), verdict)],
    }

    def as_text(message):
        return {"text": message.render("ko") if isinstance(message, Message) else message}

    sent = Notification.objects.create(
        event="errorlogs.incident_opened",
        subject="stream:cam-1",
        dedup_key="errorlogs.incident:1",
        severity="critical",
        title=as_text(old["title"]),
        text=as_text(old["text"]),
        facts=[[as_text(k), as_text(v)] for k, v in old["facts"]],
    )
    other = Notification.objects.create(
        event="errorlogs.incident_resolved",
        subject="stream:cam-1",
        dedup_key="errorlogs.incident_resolved:1",
        severity="info",
        title={"text": "Worded otherwise"},
    )
    migration.texts_to_codes(apps, None)
    sent.refresh_from_db()
    other.refresh_from_db()
    assert sent.title == old["title"].as_json()
    assert sent.text == old["text"].as_json()
    assert sent.facts == [
        [k.as_json(), Message.from_json(v).as_json()]
        for k, v in [(m.FACT_VIEWERS(), {"text": "12"}), (m.FACT_VERDICT(), verdict.as_json())]
    ]
    chinese = notification_render(notification=sent, language="zh-hant")
    assert chinese.title == old["title"].render("zh-hant") != old["title"].render("ko")
    assert other.title == {"text": "Worded otherwise"}

    migration.codes_to_texts(apps, None)  # and back: the text in NOTIFY_LANGUAGE (ko)
    sent.refresh_from_db()
    assert sent.title == {"text": old["title"].render("ko")}
