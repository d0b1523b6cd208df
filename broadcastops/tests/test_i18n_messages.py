"""Stored messages: codes and parameters in, the reader's language out."""

import json

import pytest
from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext_noop

from broadcastops.i18n import (
    Message,
    Text,
    choice_message,
    cli_language,
    language_from_scope,
    message_define,
)
from broadcastops.inventory import messages as inventory_messages

# Sentences the catalogues already translate (inventory.messages, failover.messages).
FAILOVER_TITLE = inventory_messages.FAILOVER_TITLE
WHERE = inventory_messages.WHERE_PIPELINE


def test_a_message_is_stored_as_code_and_params_and_read_in_any_language():
    message = FAILOVER_TITLE(name="channel-kbo-001")
    stored = json.loads(json.dumps(message.as_json()))  # what a JSONField gives back

    assert stored == {
        "code": "inventory.notify.failover.title",
        "params": {"name": "channel-kbo-001"},
    }
    again = Message.from_json(stored)
    assert again == message
    assert again.render("en") == "channel-kbo-001 switched to the BACKUP input"
    assert again.render("ko") == "channel-kbo-001 이(가) BACKUP 입력으로 전환되었습니다"
    assert "BACKUP" in again.render("zh-hant") and "channel-kbo-001" in again.render("zh-hant")
    with translation.override("ko"):
        assert str(again) == again.render("ko")


def test_nested_messages_and_lists_render_in_the_same_language():
    text = inventory_messages.FAILOVER_TEXT(where=WHERE(pipeline=0), time="19:15:23")
    stored = Message.from_json(json.loads(json.dumps(text.as_json())))

    assert stored.render("en") == "Pipeline 0 lost its MAIN input at 19:15:23."
    korean = stored.render("ko")
    assert "파이프라인 0" in korean and "19:15:23" in korean
    facts = inventory_messages.FACTS_LIVE_PIPELINES(
        state=choice_message(inventory_messages.CHANNEL_STATE, "RUNNING"),
        input=choice_message(inventory_messages.INPUT, "MAIN"),
        pipelines=[inventory_messages.FACTS_PIPELINE(pipeline=n, role="MAIN") for n in (0, 1)],
    )
    assert facts.render("en") == "Running, input MAIN (pipeline 0: MAIN, pipeline 1: MAIN)"


def test_text_that_is_not_ours_and_rows_from_before_codes_show_as_they_are():
    assert Message.from_json("An old English sentence.").render("ko") == (
        "An old English sentence."
    )
    assert Message.from_json({"text": "RTMP Stream Not Found"}).render("ko") == (
        "RTMP Stream Not Found"
    )
    assert Message.from_json(None).render() == ""
    assert Text("x").as_json() == {"text": "x"}


def test_an_unknown_code_still_says_what_is_known():
    message = Message.from_json({"code": "gone.code", "params": {"channel": "kbo"}})
    assert message.render("ko") == "gone.code (channel=kbo)"


def test_a_kind_refuses_wrong_parameters():
    with pytest.raises(TypeError, match="takes"):
        FAILOVER_TITLE(channel="kbo")
    with pytest.raises(ValueError, match="twice"):
        message_define("inventory.notify.failover.title", gettext_noop("Another text"))


def test_a_broken_translation_falls_back_to_english(monkeypatch):
    kind = message_define("tests.broken", "Channel %(name)s")
    monkeypatch.setattr("broadcastops.i18n.gettext", lambda text: "채널 %(nom)s")
    assert kind(name="kbo").render() == "Channel kbo"


def test_messages_render_where_django_and_drf_render_lazy_text():
    message = FAILOVER_TITLE(name="<b>kbo</b>")
    with translation.override("ko"):
        assert json.dumps({"m": message}, cls=DjangoJSONEncoder, ensure_ascii=False) == (
            json.dumps({"m": message.render("ko")}, ensure_ascii=False)
        )
        html = format_html("<p>{}</p>", message)
    assert "&lt;b&gt;kbo&lt;/b&gt;" in html  # escaped like any text


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"query_string": b"lang=ko", "headers": []}, "ko"),
        ({"query_string": b"", "headers": [(b"cookie", b"django_language=zh-hant")]}, "zh-hant"),
        ({"query_string": b"", "headers": [(b"accept-language", b"ko-KR,ko;q=0.9")]}, "ko"),
        ({"query_string": b"", "headers": [(b"accept-language", b"zh-TW")]}, "zh-hant"),
        ({"query_string": b"lang=xx", "headers": [(b"accept-language", b"fr")]}, "en"),
    ],
)
def test_a_sockets_language_is_the_pages(scope, expected):
    assert language_from_scope(scope) == expected


def test_a_commands_language_is_the_option_then_the_shells_locale(monkeypatch):
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    assert cli_language() == "en"
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert cli_language() == "ko"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    assert cli_language() == "en"
    assert cli_language("zh_TW") == "zh-hant"
    with pytest.raises(CommandError, match="Unknown language"):
        cli_language("xx")
