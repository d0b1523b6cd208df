import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from broadcastops.actions.models import OperatorAction
from broadcastops.asgi import application
from broadcastops.inventory.services.sync import inventory_poll
from broadcastops.tests.helpers import actions_run_pending

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(demo):
    inventory_poll(full=True)
    return demo


def _client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_channel_list_shows_state_and_input_badges_and_filters(synced, viewer):
    page = _client_for(viewer).get("/admin/inventory/livechannel/?active_input__exact=MAIN")
    html = page.content.decode()
    assert page.status_code == 200
    assert "channel-kbo-001" in html and "channel-news-002" not in html
    assert 'class="bo-badge bo-main"' in html and "style=" not in html


def test_channel_page_shows_links_timeline_and_diagnosis(synced, viewer):
    from broadcastops.inventory.models import LiveChannel

    kbo = LiveChannel.objects.get(name="channel-kbo-001")
    html = _client_for(viewer).get(f"/admin/inventory/livechannel/{kbo.pk}/change/").content
    html = html.decode()
    assert "kbo001_m (Running)" in html and "pkg-kbo-001" in html
    assert "All services healthy." in html


def test_channel_page_shows_the_progress_of_recent_actions(synced, operator, viewer):
    from broadcastops.inventory.models import LiveChannel

    kbo = LiveChannel.objects.get(name="channel-kbo-002")
    action = OperatorAction.objects.create(
        actor_name="operator",
        action="channel.restart",
        target_type="channel",
        target_id=kbo.cloud_id,
        progress=[{"at": "", "step": "stopping (was RUNNING)"}],  # a row from before the engine
    )
    html = _client_for(operator).get(f"/admin/inventory/livechannel/{kbo.pk}/change/").content
    html = html.decode()
    assert "channel.restart by operator" in html and "stopping (was RUNNING)" in html
    # A running action follows itself from the API, and links to its own page.
    assert f'data-action-url="/api/v1/actions/{action.pk}/" data-status="running"' in html
    assert f'href="/admin/actions/operatoraction/{action.pk}/change/"' in html
    assert "actions/progress.js" in html
    # Viewers do not read the audit trail, here either.
    seen = _client_for(viewer).get(f"/admin/inventory/livechannel/{kbo.pk}/change/").content
    assert "channel.restart by operator" not in seen.decode()


def test_admin_start_asks_for_confirmation_then_says_where_to_follow_it(synced, operator):
    from broadcastops.inventory.models import LiveChannel

    client = _client_for(operator)
    idle = LiveChannel.objects.get(name="channel-news-002")
    data = {"action": "start_channels", "_selected_action": [idle.pk]}
    confirm = client.post("/admin/inventory/livechannel/", data)
    assert confirm.status_code == 200 and "Yes, do it" in confirm.content.decode()
    assert OperatorAction.objects.count() == 0
    done = client.post("/admin/inventory/livechannel/", {**data, "confirmed": "yes"}, follow=True)
    action = OperatorAction.objects.get()
    assert action.action == "channel.start" and action.origin == "admin"
    # It leads to the channel's page, which says the start is running and where to follow it.
    assert done.redirect_chain == [(f"/admin/inventory/livechannel/{idle.pk}/change/", 302)]
    html = done.content.decode()
    assert f"Action #{action.pk} (channel.start on channel-news-002) is running" in html
    assert f'<a href="/admin/actions/operatoraction/{action.pk}/change/">' in html
    assert 'data-status="running"' in html
    actions_run_pending()
    page = client.get(f"/admin/actions/operatoraction/{action.pk}/change/").content.decode()
    assert "channel-news-002 is idle; starting it." in page and "Succeeded" in page


def test_viewers_cannot_run_admin_actions(synced, viewer):
    from broadcastops.inventory.models import LiveChannel

    idle = LiveChannel.objects.get(name="channel-news-002")
    _client_for(viewer).post(
        "/admin/inventory/livechannel/",
        {"action": "start_channels", "_selected_action": [idle.pk], "confirmed": "yes"},
    )
    assert OperatorAction.objects.count() == 0


def test_audit_trail_is_read_by_operators_and_admins_and_not_editable(
    synced, viewer, operator, admin_user
):
    assert _client_for(viewer).get("/admin/actions/operatoraction/").status_code == 403
    assert _client_for(operator).get("/admin/actions/operatoraction/").status_code == 200
    assert _client_for(admin_user).get("/admin/actions/operatoraction/").status_code == 200
    action = OperatorAction.objects.create(
        actor_name="x", action="channel.start", target_type="channel", target_id="1"
    )
    for user in (operator, admin_user):
        change = _client_for(user).post(
            f"/admin/actions/operatoraction/{action.pk}/change/", {"outcome": "forged"}
        )
        assert change.status_code == 403
    action.refresh_from_db()
    assert action.outcome == ""


async def _session_communicator(user):
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return WebsocketCommunicator(
        application,
        "/ws/dashboard/",
        headers=[
            (b"cookie", cookie.encode()),
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1:8000"),
        ],
    )


async def test_dashboard_socket_sends_summary_then_changes(synced, viewer, settings):
    settings.DASHBOARD_REFRESH_S = 0.2
    communicator = await _session_communicator(viewer)
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "dashboard"
    assert first["summary"]["streamlive"]["by_state"] == {"RUNNING": 6, "IDLE": 6}
    from broadcastops.inventory.models import LiveChannel

    # Three channels are on air without input protection; kbo-001 is protected and healthy.
    assert first["summary"]["attention"] == 3
    await sync_to_async(LiveChannel.objects.filter(name="channel-kbo-001").update)(
        health="red", active_input="NONE"
    )
    changed = await communicator.receive_json_from(timeout=5)
    assert changed["summary"]["attention"] == 4
    assert changed["channels"][0]["name"] == "channel-kbo-001"
    assert changed["channels"][0]["attention_reasons"] == ["Health: Off air"]
    # The summary counts exactly the rows it highlights.
    assert sum(c["attention"] for c in changed["channels"]) == 4
    await communicator.disconnect()


async def test_dashboard_socket_refuses_anonymous_and_foreign_origins(synced, viewer):
    anonymous = WebsocketCommunicator(
        application,
        "/ws/dashboard/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")],
    )
    connected, code = await anonymous.connect()
    assert not connected and code == 4403
    foreign = await _session_communicator(viewer)
    foreign.scope["headers"] = [
        (k, b"http://evil.example" if k == b"origin" else v) for k, v in foreign.scope["headers"]
    ]
    connected, _ = await foreign.connect()
    assert not connected


def test_a_flow_page_shows_its_actions_to_operators(synced, operator, viewer):
    from broadcastops.actions.types import Actor
    from broadcastops.inventory.models import LinkFlow
    from broadcastops.inventory.services.actions import flow_stop

    flow = LinkFlow.objects.get(name="kbo001_b")
    flow_stop(flow=flow, actor=Actor.of(operator, "api"))
    actions_run_pending()
    html = _client_for(operator).get(f"/admin/inventory/linkflow/{flow.pk}/change/").content
    assert "flow.stop by operator" in html.decode() and "kbo001_b is IDLE." in html.decode()
    seen = _client_for(viewer).get(f"/admin/inventory/linkflow/{flow.pk}/change/").content
    assert "kbo001_b" in seen.decode() and "flow.stop by operator" not in seen.decode()


@pytest.fixture
def reads(monkeypatch) -> list:
    """One entry per reading of the dashboard (whichever socket asked for it)."""
    from broadcastops.inventory import consumers

    counted: list = []
    real = consumers.dashboard_get

    def read():
        counted.append(1)
        return real()

    monkeypatch.setattr(consumers, "dashboard_get", read)
    return counted


async def test_one_dashboard_read_per_refresh_for_all_sockets_each_in_its_language(
    synced, viewer, settings, reads
):
    """Five sockets, two languages: one read per tick and per nudge, not one per socket."""
    from channels.layers import get_channel_layer

    from broadcastops.inventory.models import LiveChannel
    from broadcastops.inventory.services.dashboard import DASHBOARD_GROUP

    settings.DASHBOARD_REFRESH_S = 30  # no tick during the test: only joins and the nudge read
    sockets = []
    for language in ("ko", "ko", "en", "ko", "en"):
        communicator = await _session_communicator(viewer)
        communicator.scope["query_string"] = f"lang={language}".encode()
        assert (await communicator.connect())[0]
        first = await communicator.receive_json_from(timeout=5)
        assert first["type"] == "dashboard"
        sockets.append((language, communicator))
    # The first socket read for "ko", the first English one for both languages; the others
    # were given what the feed had just read.
    assert len(reads) == 2

    await sync_to_async(LiveChannel.objects.filter(name="channel-kbo-001").update)(
        health="red", active_input="NONE"
    )
    await get_channel_layer().group_send(DASHBOARD_GROUP, {"type": "dashboard.changed"})
    for language, communicator in sockets:
        changed = await communicator.receive_json_from(timeout=5)
        top = changed["channels"][0]
        assert top["name"] == "channel-kbo-001"
        assert top["health_label"] == ("방송 중단" if language == "ko" else "Off air")
    assert len(reads) == 3
    for _language, communicator in sockets:
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
    assert len(reads) == 3


async def test_the_dashboard_refreshes_on_its_own_timer_once_per_tick(
    synced, viewer, settings, reads
):
    import asyncio

    settings.DASHBOARD_REFRESH_S = 0.2
    sockets = []
    for _ in range(4):
        communicator = await _session_communicator(viewer)
        assert (await communicator.connect())[0]
        await communicator.receive_json_from(timeout=5)
        sockets.append(communicator)
    before = len(reads)
    await asyncio.sleep(1.0)
    ticks = len(reads) - before
    # About five ticks in a second: four sockets did not make it twenty.
    assert 2 <= ticks <= 7
    for communicator in sockets:
        await communicator.disconnect()


@pytest.mark.parametrize(
    "origin",
    [b"http://evil.example", b"http://127.0.0.1:3000", b"https://127.0.0.1:8000", b"null", None],
    ids=["other-host", "other-port", "other-scheme", "null", "none"],
)
async def test_dashboard_socket_compares_scheme_host_and_port_of_the_origin(viewer, origin):
    comm = await _session_communicator(viewer)
    headers = [(k, v) for k, v in comm.scope["headers"] if k != b"origin"]
    comm.scope["headers"] = headers + ([(b"origin", origin)] if origin else [])
    connected, _ = await comm.connect()
    assert not connected


async def test_dashboard_socket_takes_a_configured_trusted_origin(viewer, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://console.example.test"]
    comm = await _session_communicator(viewer)
    comm.scope["headers"] = [
        (k, b"https://console.example.test" if k == b"origin" else v)
        for k, v in comm.scope["headers"]
    ]
    connected, _ = await comm.connect()
    assert connected
    await comm.disconnect()


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"bytes_data": b"\x00"}, 1003),
        ({"text_data": "not json"}, 1008),
        ({"text_data": "[" * 100_000}, 1008),
        ({"text_data": "[1, 2]"}, 1008),
    ],
    ids=["binary", "not-json", "deep-nesting", "not-an-object"],
)
async def test_dashboard_socket_closes_on_a_malformed_message_with_one_warning(
    viewer, message, code, caplog
):
    comm = await _session_communicator(viewer)
    assert (await comm.connect())[0]
    await comm.receive_json_from(timeout=5)
    with caplog.at_level("WARNING"):
        await comm.send_to(**message)
        while (out := await comm.receive_output(3))["type"] != "websocket.close":
            pass
    assert out["code"] == code and out["reason"]
    assert len([r for r in caplog.records if "WebSocket closed" in r.message]) == 1
    assert not [r for r in caplog.records if r.exc_info]


async def test_dashboard_socket_ignores_a_well_formed_message(viewer, settings):
    settings.DASHBOARD_REFRESH_S = 0.2
    comm = await _session_communicator(viewer)
    assert (await comm.connect())[0]
    await comm.receive_json_from(timeout=5)
    await comm.send_json_to({"type": "hello"})
    assert await comm.receive_nothing(0.5)
    await comm.disconnect()
