"""What the Slack command and buttons do, calling the apps' selectors and services.

The request views answer at once (Slack waits 3 seconds): the slash command with the
dashboard, which reads a fixed number of queries; a button or menu with an empty 200, after
writing one ``SlackRequest`` row whose unique key makes a retried delivery a no-op. The
row's task then answers through ``response_url`` (a channel's status, "restart begun"), and a
second task follows a begun action and posts its outcome.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from assistant.models import SlackRequest
from assistant.selectors import dashboard_get, user_language
from assistant.slack import blocks
from broadcastops.accounts.roles import Role, user_has_role
from broadcastops.actions.models import OperatorAction, Origin
from broadcastops.actions.selectors import action_follow, action_outcome
from broadcastops.actions.types import Actor
from broadcastops.errors import ApplicationError, ValidationFailed
from broadcastops.i18n import language_active
from broadcastops.inventory.selectors import channel_get, channel_status_get
from broadcastops.inventory.services.actions import channel_restart, channel_start, channel_stop
from broadcastops.notify.selectors import slack_user_linked

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

CHANNEL_SERVICES = {
    "channel_start": channel_start,
    "channel_stop": channel_stop,
    "channel_restart": channel_restart,
}
CONTROLS = {blocks.CHANNEL_MENU, *CHANNEL_SERVICES, blocks.APPROVE, blocks.DENY}


class SlackResponseError(Exception):
    """``response_url`` did not take the message (after the bounded retries)."""


@dataclass(frozen=True)
class SlackUser:
    """Who pressed: their Slack id and name, and the console user it is linked to."""

    id: str
    name: str
    user: User | None

    @property
    def operator(self) -> bool:
        return self.user is not None and user_has_role(self.user, Role.OPERATOR)

    @property
    def language(self) -> str:
        return user_language(self.user)

    @property
    def ref(self) -> str:
        """How the audit trail names them (``origin_ref``)."""
        return f"{self.id} @{self.name}" if self.name else self.id

    def actor(self) -> Actor:
        return Actor.of(self.user, Origin.SLACK, self.ref)


def slack_user(slack_user_id: str, name: str = "") -> SlackUser:
    return SlackUser(
        id=slack_user_id, name=name, user=slack_user_linked(slack_user_id=slack_user_id)
    )


def slack_respond(url: str, body: dict[str, Any]) -> None:
    """Post ``body`` to a ``response_url`` (timeout, bounded retries, one error type)."""
    client = WebhookClient(
        url,
        timeout=int(max(1, settings.SLACK_RESPONSE_TIMEOUT_S)),
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=settings.SLACK_RESPONSE_ATTEMPTS - 1),
            RateLimitErrorRetryHandler(max_retry_count=settings.SLACK_RESPONSE_ATTEMPTS - 1),
        ],
    )
    try:
        response = client.send(**body)
    except Exception as exc:  # the SDK raises URLError, TimeoutError, OSError...
        raise SlackResponseError(f"response_url unreachable: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise SlackResponseError(f"response_url answered {response.status_code}")


# --- the slash command --------------------------------------------------------------------------
def slack_command_answer(
    *, slack_user_id: str, user_name: str = "", text: str = ""
) -> dict[str, Any]:
    """The slash command's answer, only for the one who asked: the dashboard, or with a
    channel's name (or id) after the command, that channel's status."""
    who = slack_user(slack_user_id, user_name)
    key = text.strip()
    with language_active(who.language):
        if key:
            try:
                diagnosis = channel_status_get(channel=channel_get(key=key[:200]))
            except ApplicationError as exc:
                return {"response_type": "ephemeral", "text": f"⛔ {exc.message}"}
            return blocks.message(
                blocks.channel_blocks(diagnosis, can_act=who.operator),
                f"{diagnosis.channel_name}: {diagnosis.health_label}",
                response_type="ephemeral",
            )
        board = dashboard_get()
        summary = board.status.summary
        fallback = _("%(attention)s channels need attention; %(incidents)s open incidents.") % {
            "attention": summary["attention"],
            "incidents": len(board.incidents_open),
        }
        return blocks.message(
            blocks.dashboard_blocks(board, can_act=who.operator),
            fallback,
            response_type="ephemeral",
        )


# --- buttons and menus ------------------------------------------------------------------------
def _payload_parse(raw: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise ValidationFailed(_("The Slack payload is not JSON.")) from exc
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise ValidationFailed(_("Only button and menu interactions are handled here."))
    actions = payload.get("actions")
    user = payload.get("user")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise ValidationFailed(_("The Slack payload names no action."))
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise ValidationFailed(_("The Slack payload names no user."))
    return payload, actions[0]


def slack_interaction_accept(*, raw_payload: str) -> SlackRequest | None:
    """Take a button press or menu choice on: one row per interaction, its task enqueued on
    commit. ``None`` for a delivery already taken (Slack retried it): nothing more happens."""
    payload, action = _payload_parse(raw_payload)
    control = str(action.get("action_id", ""))[:64]
    if control not in CONTROLS:
        raise ValidationFailed(_("Unknown control %(id)s.") % {"id": control})
    if control == blocks.CHANNEL_MENU:
        value = str((action.get("selected_option") or {}).get("value", ""))
    else:
        value = str(action.get("value", ""))
    user = payload["user"]
    key = f"{payload.get('trigger_id', '')}:{action.get('action_ts', '')}:{user['id']}"
    try:
        with transaction.atomic():
            row = SlackRequest.objects.create(
                key=key[:200],
                slack_user_id=str(user["id"])[:32],
                slack_user_name=str(user.get("username") or user.get("name") or "")[:100],
                control=control,
                value=value[:200],
                response_url=str(payload.get("response_url", ""))[:500],
            )
            request_id = row.pk
            transaction.on_commit(lambda: _enqueue_run(request_id))
    except IntegrityError:
        logger.info("Slack interaction %s received again (a retry): not acted on twice", key)
        return None
    logger.info(
        "Slack %s on %s by %s taken on (request %s)", control, value, row.slack_user_id, row.pk
    )
    return row


def _enqueue_run(request_id: int) -> None:
    from assistant.tasks import slack_request_run_task

    slack_request_run_task.delay(request_id)


def _enqueue_report(request_id: int) -> None:
    from assistant.tasks import slack_action_report_task

    slack_action_report_task.delay(request_id)


def _finish(row: SlackRequest, code: str, status: str = SlackRequest.Status.DONE) -> None:
    SlackRequest.objects.filter(pk=row.pk).update(
        status=status, outcome_code=code, response_url="" if code != "begun" else row.response_url
    )


def slack_request_run(*, request_id: int) -> str:
    """Do what one taken-on interaction asked and answer through its ``response_url``.
    Returns the outcome code (``status``, ``begun``, ``not_linked``, ``refused``, ...)."""
    row = SlackRequest.objects.filter(pk=request_id, status=SlackRequest.Status.PENDING).first()
    if row is None or row.outcome_code:
        return "done_already"
    who = slack_user(row.slack_user_id, row.slack_user_name)
    with language_active(who.language):
        code, body = _answer(row, who)
    _finish(row, code)
    if code == "begun":
        transaction.on_commit(lambda: _enqueue_report(row.pk))
    if row.response_url:
        slack_respond(row.response_url, body)
    return code


def _answer(row: SlackRequest, who: SlackUser) -> tuple[str, dict[str, Any]]:
    from assistant import approvals

    try:
        if row.control == blocks.CHANNEL_MENU:
            diagnosis = channel_status_get(channel=channel_get(key=row.value))
            return "status", blocks.message(
                blocks.channel_blocks(diagnosis, can_act=who.operator),
                f"{diagnosis.channel_name}: {diagnosis.health_label}",
                replace_original=False,
            )
        if not who.operator:
            logger.info("Slack %s by unlinked %s refused", row.control, who.id)
            return "not_linked", _notice(blocks.link_hint())
        if row.control in (blocks.APPROVE, blocks.DENY):
            approval = approvals.approval_decide(
                approval_id=int(row.value) if row.value.isdigit() else 0,
                approve=row.control == blocks.APPROVE,
                user=who.user,
                slack_ref=who.ref,
            )
            return approval.status, _notice(approvals.approval_decided_text(approval))
        service = CHANNEL_SERVICES[row.control]
        action = service(channel=channel_get(key=row.value), actor=who.actor())
    except ApplicationError as exc:
        return "refused", _notice(f"⛔ {exc.message}")
    SlackRequest.objects.filter(pk=row.pk).update(action=action)
    text = _(
        "%(kind)s of %(name)s begun by %(who)s (action #%(id)s); the outcome follows here."
    ) % {
        "kind": action.action,
        "name": action.target_name,
        "who": who.ref,
        "id": action.pk,
    }
    return "begun", _notice("⏳ " + text)


def _notice(text: str) -> dict[str, Any]:
    return blocks.message(blocks.notice_blocks(text), text, replace_original=False)


def slack_action_report(*, request_id: int, timeout_s: float | None = None) -> str:
    """Wait for the action a button began and post its outcome (bounded by
    ``SLACK_FOLLOW_TIMEOUT_S``). Returns the action's status, or ``timeout``."""
    row = SlackRequest.objects.select_related("action").filter(pk=request_id).first()
    if row is None or row.action_id is None or not row.response_url:
        return "nothing"
    final: OperatorAction | None = None
    for event in action_follow(
        action_id=row.action_id, timeout_s=timeout_s or settings.SLACK_FOLLOW_TIMEOUT_S
    ):
        if event.kind == "finished":
            final = event.action
        elif event.kind == "timeout":
            break
    who = slack_user(row.slack_user_id, row.slack_user_name)
    with language_active(who.language):
        if final is None:
            text = "⏳ " + _("Action #%(id)s is still running; follow it in the console.") % {
                "id": row.action_id
            }
            status = "timeout"
        else:
            ok = final.status == OperatorAction.Status.SUCCEEDED
            text = ("✅ " if ok else "❌ ") + f"{final.target_name}: {action_outcome(final)}"
            status = str(final.status)
        slack_respond(row.response_url, _notice(text))
    SlackRequest.objects.filter(pk=row.pk).update(response_url="")  # posted: not needed again
    return status
