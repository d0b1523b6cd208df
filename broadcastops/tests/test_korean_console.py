"""The console in Korean: the dashboard, a channel page, ops_status and a Slack notification
carry no English sentence, compared with the same views rendered in English and with every
English sentence of the catalogues."""

import glob
import json
import re
from html.parser import HTMLParser
from io import StringIO

import pytest
from babel.messages.pofile import read_po
from django.core.management import call_command
from django.test import Client

from broadcastops.i18n_catalogues import ROOT
from broadcastops.inventory.consumers import dashboard_texts
from broadcastops.inventory.models import LiveChannel
from broadcastops.inventory.services.sync import inventory_poll
from broadcastops.notify.models import Notification
from broadcastops.notify.services import notification_deliver

pytestmark = pytest.mark.django_db(transaction=True)

PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|%d")
# Four English words in a row, as a sentence has them.
ENGLISH_RUN = re.compile(r"[A-Za-z][a-z]+(?:[ ,]+[A-Za-z][a-z]+){3,}")


class _Visible(HTMLParser):
    """The text a person sees on a page: no scripts, styles or tags."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "svg", "template"):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "svg", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def _visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return "\n".join(parser.parts)


def _catalogues():
    """(English msgid, Korean msgstr) of every entry of every catalogue."""
    for path in glob.glob(str(ROOT / "**/locale/ko/LC_MESSAGES/*.po"), recursive=True):
        if "/.venv/" in path:
            continue
        with open(path, "rb") as handle:
            for message in read_po(handle, locale="ko"):
                if not message.id:
                    continue
                ids = message.id if isinstance(message.id, tuple) else (message.id,)
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                for msgid in ids:
                    yield msgid, " ".join(strings)


CATALOGUE = list(_catalogues())
# English the Korean catalogue itself keeps (the Tencent console's own labels, verdict codes).
KEPT_IN_KOREAN = " ".join(korean for _english, korean in CATALOGUE)
# Literal fragments of the catalogue's English sentences (between placeholders, a few words).
ENGLISH_FRAGMENTS = sorted(
    {
        fragment.strip(" .,:;()")
        for english, korean in CATALOGUE
        if english != korean
        for fragment in PLACEHOLDER.split(english)
        if len(fragment.strip(" .,:;()").split()) >= 3
    }
    - {""}
)


WORD = re.compile(r"[\"'(]*[A-Za-z][a-z]+[\"'),.:;!?]*")


def _words(text: str) -> int:
    """English words in ``text`` (not names like channel-kbo-001 or ids)."""
    return sum(1 for token in text.split() if WORD.fullmatch(token))


def _english_left(korean: str, english: str, names: set[str]) -> list[str]:
    """What of ``korean`` is still English: catalogue sentences, sentences of the English
    rendering, and runs of English words the catalogue does not keep in Korean."""
    left = [f for f in ENGLISH_FRAGMENTS if f in korean and f not in KEPT_IN_KOREAN]
    sentences = {s.strip() for s in re.split(r"[.\n:;]", english) if _words(s) >= 4}
    left += [s for s in sentences if s in korean and s not in KEPT_IN_KOREAN]
    for run in ENGLISH_RUN.findall(korean):
        if run not in KEPT_IN_KOREAN and not any(run in name for name in names):
            left.append(run)
    return sorted(set(left))


@pytest.fixture
def synced(cloudsim, slack, settings):
    from broadcastops.cloud.simulator.server import load_scenario

    cloudsim.load(load_scenario(None))
    inventory_poll(full=True)
    return cloudsim


@pytest.fixture
def names(synced) -> set[str]:
    """Names that are data, not sentences (channels, flows, inputs)."""
    from broadcastops.inventory.models import CssStream, LinkFlow, LiveInput

    return {
        *LiveChannel.objects.values_list("name", flat=True),
        *LinkFlow.objects.values_list("name", flat=True),
        *LiveInput.objects.values_list("name", flat=True),
        *CssStream.objects.values_list("app_name", flat=True),
        *CssStream.objects.values_list("domain", flat=True),
        *CssStream.objects.values_list("stream_name", flat=True),
    }


def _page(client, url, language):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, url
    return _visible(response.content.decode())


LABEL_WORD = re.compile(r"[A-Za-z][a-z]{2,}")


def _untranslated_labels(korean: str, english: str, names: set[str]) -> list[str]:
    """Texts shown the same in both languages that are English words (a column title, a
    label), not data: names, ids and codes (RUNNING, StreamLive) do not count."""
    english_nodes = set(english.split("\n"))
    return sorted(
        node
        for node in set(korean.split("\n")) & english_nodes
        if node not in names
        and node not in PRODUCTS
        and any(LABEL_WORD.fullmatch(t.strip("()[]:,.")) for t in node.split())
    )


# Names of products, shown as they are in every language.
PRODUCTS = {"Slack", "StreamLive", "StreamLink", "StreamPackage", "BroadcastOps", "MCP"}


def test_the_dashboard_is_korean(synced, names, admin_user):
    client = Client()
    client.force_login(admin_user)
    korean, english = _page(client, "/admin/", "ko"), _page(client, "/admin/", "en")
    texts = dashboard_texts(languages=["ko", "en"])
    payload_ko, payload_en = json.loads(texts["ko"]), json.loads(texts["en"])
    korean += "\n" + _payload_text(payload_ko)
    english += "\n" + _payload_text(payload_en)
    script = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()

    assert _english_left(korean, english, names) == []
    assert "실시간 상태" in korean and "추정 원인" in korean
    cj = next(c for c in payload_ko["channels"] if c["name"] == "cj_onstyle")
    assert cj["attention_reasons"] == ["입력 보호 없이 방송 중"]
    assert cj["cause"].startswith("입력 보호 없이 방송 중: ")
    assert "백업 입력이 선택되지 않았습니다" in cj["cause"]
    assert cj["state_label"] == "실행 중" and cj["health_label"] == "정상"
    assert payload_ko["labels"]["state"]["IDLE"] == "대기"
    # The script's own texts come from the JavaScript catalogue.
    assert json.dumps("조치가 필요한 채널 %(count)s개")[1:-1] in script


def _payload_text(payload: dict) -> str:
    parts = [str(v) for labels in payload["labels"].values() for v in labels.values()]
    for channel in payload["channels"]:
        parts += [channel["cause"], channel["state_label"], channel["health_label"]]
        parts += [channel["input_label"], *channel["attention_reasons"]]
    return "\n".join(parts)


def test_a_channel_page_is_korean(synced, names, admin_user):
    client = Client()
    client.force_login(admin_user)
    for name in ("cj_onstyle", "channel-kbo-001", "channel-news-002"):
        channel = LiveChannel.objects.get(name=name)
        url = f"/admin/inventory/livechannel/{channel.pk}/change/"
        korean, english = _page(client, url, "ko"), _page(client, url, "en")
        assert _english_left(korean, english, names) == [], name
    cj = _page(
        client,
        f"/admin/inventory/livechannel/{LiveChannel.objects.get(name='cj_onstyle').pk}/change/",
        "ko",
    )
    assert "라이브 채널" in cj and "조치 필요: 입력 보호 없이 방송 중" in cj
    changelist = _page(client, "/admin/inventory/livechannel/", "ko")
    assert (
        _english_left(changelist, _page(client, "/admin/inventory/livechannel/", "en"), names) == []
    )
    assert "조치 필요" in changelist and "백업 없이 켜짐" in changelist


def _ops_status(*args) -> str:
    out = StringIO()
    call_command("ops_status", *args, stdout=out)
    return out.getvalue()


def test_ops_status_is_korean_in_text_and_json(synced, names):
    korean, english = _ops_status("--language", "ko"), _ops_status("--language", "en")
    assert _english_left(korean, english, names) == []
    assert "추정 원인: 입력 보호 없이 방송 중" in korean
    assert "조치 필요: " in korean
    as_json = _ops_status("--json", "--language", "ko")
    body = json.loads(as_json)
    english_json = _ops_status("--json", "--language", "en")
    assert _english_left(as_json, english_json, names) == []
    kbo = next(c for c in body["channels"] if c["channel_name"] == "channel-kbo-001")
    assert kbo["cause"] == "모든 서비스가 정상입니다." and kbo["health_label"] == "정상"


def test_a_slack_notification_is_korean(synced, names, slack, settings):
    settings.NOTIFY_LANGUAGE = "ko"
    row = Notification.objects.get(
        event="failover.unprotected", subject__isnull=False, facts__icontains="cj_onstyle"
    )
    notification_deliver(notification_id=row.pk)
    korean = json.dumps(slack.received[-1], ensure_ascii=False)
    Notification.objects.filter(pk=row.pk).update(status=Notification.Status.PENDING)
    settings.NOTIFY_LANGUAGE = "en"
    notification_deliver(notification_id=row.pk)
    english = json.dumps(slack.received[-1], ensure_ascii=False)

    assert _english_left(korean, english, names) == []
    assert "cj_onstyle 에 입력 페일오버 보호가 없습니다" in korean
    assert "*조치 방법*" in korean and "*판정*" in korean
    assert "cj_onstyle has no input failover protection" in english


def test_every_console_list_and_page_is_korean(synced, names, admin_user):
    """Each model's list and its first row's page, as an Admin sees them."""
    from django.contrib import admin as django_admin

    client = Client()
    client.force_login(admin_user)
    checked = 0
    for model in django_admin.site._registry:
        meta = model._meta
        if meta.app_label in ("auth", "authtoken"):
            continue  # Django's and DRF's own pages, translated by them
        url = f"/admin/{meta.app_label}/{meta.model_name}/"
        korean, english = _page(client, url, "ko"), _page(client, url, "en")
        assert _english_left(korean, english, names) == [], url
        assert _untranslated_labels(korean, english, names) == [], url
        first = model.objects.first()
        if first is not None:
            page = f"{url}{first.pk}/change/"
            korean, english = _page(client, page, "ko"), _page(client, page, "en")
            assert _english_left(korean, english, names) == [], page
            assert _untranslated_labels(korean, english, names) == [], page
        checked += 1
    assert checked >= 10
