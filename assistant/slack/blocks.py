"""The Slack messages of the assistants, as slack_sdk Block Kit models, in the active language.

Builders only: they render what the selectors read; ``message()`` turns blocks into the
JSON Slack takes (a slash command's answer, a ``response_url`` post).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

from assistant.selectors import Dashboard
from broadcastops.i18n import MessageKind, choice_message
from broadcastops.inventory import messages as m
from broadcastops.inventory.diagnosis import Diagnosis

# Slack's limits: a section's text 3000 characters, 10 fields of 2000, 100 menu options,
# a header 150, an option's text 75.
_TEXT_MAX = 3000
_FIELD_MAX = 2000
_OPTIONS_MAX = 100
_LIST_MAX = 10

CHANNEL_MENU = "channel_status"
CHANNEL_VERBS = ("start", "stop", "restart")
APPROVE = "approval_approve"
DENY = "approval_deny"


def message(blocks: Sequence[Block], text: str, **extra: Any) -> dict[str, Any]:
    """A message body: ``text`` is the fallback notifications and phones show."""
    return {"text": text[:_TEXT_MAX], "blocks": [b.to_dict() for b in blocks], **extra}


def _md(text: str, limit: int = _TEXT_MAX) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:limit])


def _counts(values: Mapping[str, int], kinds: Mapping[str, MessageKind]) -> str:
    return " · ".join(f"{choice_message(kinds, k)} {n}" for k, n in sorted(values.items())) or "-"


def _local(when: Any, fmt: str = "%H:%M") -> str:
    return timezone.localtime(when).strftime(fmt) if when else "-"


def _bullets(lines: Iterable[str], more: int) -> str:
    text = "\n".join(f"• {line}" for line in lines)
    if more > 0:
        text += "\n" + _("…and %(n)s more") % {"n": more}
    return text


def link_hint() -> str:
    """What a Slack user not linked to a console Operator reads."""
    return _(
        "Read only: your Slack account is not linked to a console user with the Operator "
        "role. Put your Slack member id (profile, ⋮, Copy member ID) on the console's My "
        "notifications page (%(url)s), or ask an Admin to, then try again."
    ) % {"url": reverse("admin:notify_notifyprofile_mine")}


def dashboard_blocks(board: Dashboard, *, can_act: bool) -> list[Block]:
    summary = board.status.summary
    live = summary["streamlive"]
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_("BroadcastOps status")[:150])),
        SectionBlock(
            fields=[
                _md(f"*StreamLive*\n{_counts(live['by_state'], m.CHANNEL_STATE)}", _FIELD_MAX),
                _md(
                    f"*StreamLink*\n{_counts(summary['streamlink']['by_state'], m.FLOW_STATE)}",
                    _FIELD_MAX,
                ),
                _md(
                    "*StreamPackage*\n"
                    + _("%(n)s channels linked") % {"n": summary["streampackage"]["channels"]},
                    _FIELD_MAX,
                ),
                _md(f"*CSS*\n{_counts(summary['css']['by_state'], m.CSS_STATE)}", _FIELD_MAX),
                _md(
                    "*" + _("Inputs") + f"*\n{_counts(live['by_input'], m.INPUT)}",
                    _FIELD_MAX,
                ),
                _md(
                    "*" + _("Failovers in 24 h") + f"*\n{summary['failovers_24h']}",
                    _FIELD_MAX,
                ),
            ]
        ),
    ]
    stale = [s for s in summary["services"] if s["stale_since"]]
    if stale:
        blocks.append(
            ContextBlock(
                elements=[
                    _md(
                        "❌ "
                        + _("%(service)s unreachable since %(since)s")
                        % {"service": s["name"], "since": _local(s["stale_since"])}
                    )
                    for s in stale[:10]
                ]
            )
        )
    attention = [d for d in board.status.channels if d.needs_attention]
    title = _("Needing attention: %(n)s") % {"n": len(attention)}
    lines = [
        f"*{d.channel_name}* ({d.state_label}, {d.input_label}): "
        + "; ".join(r.render() for r in d.attention)
        for d in attention[:_LIST_MAX]
    ]
    blocks.append(DividerBlock())
    blocks.append(
        SectionBlock(
            text=_md(f"*{title}*\n" + (_bullets(lines, len(attention) - _LIST_MAX) or "-"))
        )
    )
    schedules = board.schedules_today
    lines = [
        f"{_local(s.starts_at)}-{_local(s.ends_at)} *{s.title}* ({s.channel.name}, "
        f"{s.get_status_display()})"
        for s in schedules[:_LIST_MAX]
    ]
    blocks.append(
        SectionBlock(
            text=_md(
                "*"
                + _("Today's schedules: %(n)s") % {"n": len(schedules)}
                + "*\n"
                + (_bullets(lines, len(schedules) - _LIST_MAX) or "-")
            )
        )
    )
    incidents = board.incidents_open
    lines = [
        _("%(scope)s: %(viewers)s viewers failing since %(since)s (%(verdict)s)")
        % {
            "scope": i.server_name or i.whep_host or i.scope_key,
            "viewers": i.viewer_count,
            "since": _local(i.first_report_at),
            "verdict": i.get_verdict_display(),
        }
        for i in incidents[:_LIST_MAX]
    ]
    blocks.append(
        SectionBlock(
            text=_md(
                "*"
                + _("Open player-error incidents: %(n)s") % {"n": len(incidents)}
                + "*\n"
                + (_bullets(lines, 0) or "-")
            )
        )
    )
    options = [
        Option(
            text=PlainTextObject(text=f"{'⚠️ ' if d.needs_attention else ''}{d.channel_name}"[:75]),
            value=d.channel_id,
        )
        for d in board.status.channels[:_OPTIONS_MAX]
    ]
    if options:
        blocks.append(
            ActionsBlock(
                elements=[
                    StaticSelectElement(
                        action_id=CHANNEL_MENU,
                        placeholder=PlainTextObject(text=_("Open a channel's status")[:150]),
                        options=options,
                    )
                ]
            )
        )
    if not can_act:
        blocks.append(ContextBlock(elements=[_md(link_hint())]))
    blocks.append(
        ContextBlock(
            elements=[
                _md(
                    _("As of %(when)s") % {"when": _local(timezone.now(), "%Y-%m-%d %H:%M:%S %Z")}
                    + f" · {settings.SLACK_COMMAND_NAME}"
                )
            ]
        )
    )
    return blocks


def _confirm(verb: str, name: str) -> ConfirmObject:
    texts = {
        "stop": (_("Stop %(name)s?"), _("The channel goes off air until someone starts it.")),
        "restart": (
            _("Restart %(name)s?"),
            _("The channel stops and starts again: viewers lose the picture for a while."),
        ),
    }
    title, body = texts[verb]
    return ConfirmObject(
        title=(title % {"name": name})[:100],
        text=body,
        confirm=_("Yes, go ahead")[:30],
        deny=_("Cancel")[:30],
        style="danger",
    )


def channel_blocks(diagnosis: Diagnosis, *, can_act: bool) -> list[Block]:
    """A channel's status: the same diagnosis as ``ops_status``, and its buttons."""
    name = diagnosis.channel_name
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=f"{name}: {diagnosis.health_label}"[:150])),
        SectionBlock(
            fields=[
                _md(f"{'✅' if line.ok else '❌'} *{line.service}*\n{line.text}", _FIELD_MAX)
                for line in diagnosis.lines[:10]
            ]
        ),
    ]
    text = _("Probable cause: %(cause)s") % {"cause": diagnosis.cause}
    if diagnosis.attention:
        reasons = "; ".join(r.render() for r in diagnosis.attention)
        text = "⚠️ " + _("Needs attention: %(reasons)s") % {"reasons": reasons} + "\n" + text
    if diagnosis.actions:
        steps = "\n".join(f"{n}. {a}" for n, a in enumerate(diagnosis.actions, start=1))
        text += f"\n*{_('What to do')}*\n{steps}"
    if diagnosis.failovers_24h:
        text += "\n" + _("Failovers in 24 h: %(count)s (last %(last)s)") % {
            "count": diagnosis.failovers_24h,
            "last": _local(diagnosis.last_failover_at, "%Y-%m-%d %H:%M"),
        }
    blocks.append(SectionBlock(text=_md(text)))
    if can_act:
        labels = {"start": _("Start"), "stop": _("Stop"), "restart": _("Restart")}
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=labels["start"],
                        action_id="channel_start",
                        value=diagnosis.channel_id,
                        style="primary",
                    ),
                    *(
                        ButtonElement(
                            text=labels[verb],
                            action_id=f"channel_{verb}",
                            value=diagnosis.channel_id,
                            style="danger",
                            confirm=_confirm(verb, name),
                        )
                        for verb in ("stop", "restart")
                    ),
                ]
            )
        )
    else:
        blocks.append(ContextBlock(elements=[_md(link_hint())]))
    return blocks


def notice_blocks(text: str) -> list[Block]:
    return [SectionBlock(text=_md(text))]


def approval_blocks(
    *,
    approval_id: int,
    tool: str,
    asked_by: str,
    client: str,
    plan: Sequence[str],
    expires_at: Any,
) -> list[Block]:
    """What an Operator approves or denies in Slack: the request, who asked through which
    token, the plan."""
    header = _("An assistant asks to run %(tool)s") % {"tool": tool}
    who = _("Asked by %(user)s through %(client)s; expires at %(when)s.") % {
        "user": asked_by,
        "client": client or _("an MCP client"),
        "when": _local(expires_at, "%H:%M:%S"),
    }
    plan_text = "\n".join(f"• {line}" for line in plan) or "-"
    return [
        HeaderBlock(text=PlainTextObject(text=header[:150])),
        SectionBlock(text=_md(f"{who}\n*{_('Plan')}*\n{plan_text}")),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text=_("Approve"),
                    action_id=APPROVE,
                    value=str(approval_id),
                    style="primary",
                    confirm=ConfirmObject(
                        title=_("Approve this?")[:100],
                        text=header,
                        confirm=_("Approve")[:30],
                        deny=_("Cancel")[:30],
                    ),
                ),
                ButtonElement(
                    text=_("Deny"), action_id=DENY, value=str(approval_id), style="danger"
                ),
            ]
        ),
    ]
