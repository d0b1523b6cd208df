import json
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from broadcastops.cloud.simulator.server import load_scenario

SECRET = "assistant-test-signing-secret"


@pytest.fixture
def synced(cloudsim, settings):
    """The bundled demo scenario in a simulator, polled once into the inventory."""
    from broadcastops.inventory.services.sync import inventory_poll

    cloudsim.load(load_scenario(None))
    settings.INVENTORY_RESTART_POLL_S = 0.1
    settings.NOTIFY_LANGUAGE = "en"  # what users without settings read (the default is ko)
    inventory_poll(full=True)
    return cloudsim


class SlackSigner:
    """Sends requests the way Slack does: form-encoded, signed with the signing secret."""

    def __init__(self, client, secret: str = SECRET):
        self.client = client
        self.verifier = SignatureVerifier(secret)

    def headers(self, body: str, timestamp: int | None = None, **extra: str) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = self.verifier.generate_signature(timestamp=ts, body=body)
        return {
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts,
            "HTTP_X_SLACK_SIGNATURE": signature or "",
            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in extra.items()},
        }

    def post(self, path: str, body: str, headers: dict[str, str]):
        return self.client.generic(
            "POST", path, body, content_type="application/x-www-form-urlencoded", **headers
        )

    def command(self, *, user_id: str = "U0OPERATOR", text: str = "", **extra: str):
        body = urlencode(
            {
                "command": "/tencent",
                "text": text,
                "user_id": user_id,
                "user_name": "kim",
                "team_id": "T000",
                "trigger_id": f"trigger-{time.monotonic_ns()}",
                "response_url": "http://127.0.0.1:9/unused",
            }
        )
        return self.post("/api/v1/slack/commands", body, self.headers(body, **extra))

    def payload(
        self, *, action_id: str, value: str, user_id: str, response_url: str, trigger: str = ""
    ) -> str:
        action: dict = {"action_id": action_id, "action_ts": f"{time.time():.6f}"}
        if action_id == "channel_status":
            action["selected_option"] = {"value": value}
        else:
            action["value"] = value
        payload = {
            "type": "block_actions",
            "user": {"id": user_id, "username": "kim"},
            "trigger_id": trigger or f"trigger-{time.monotonic_ns()}",
            "response_url": response_url,
            "actions": [action],
        }
        return urlencode({"payload": json.dumps(payload)})

    def interact(self, body: str, **extra: str):
        return self.post("/api/v1/slack/interactions", body, self.headers(body, **extra))


@pytest.fixture
def signer(settings):
    from django.test import Client

    settings.SLACK_SIGNING_SECRET = SECRET
    settings.NOTIFY_LANGUAGE = "en"  # what an unlinked Slack user reads (the default is ko)
    return SlackSigner(Client())


@pytest.fixture
def linked_operator(operator):
    from broadcastops.notify.models import NotifyProfile

    NotifyProfile.objects.create(user=operator, slack_user_id="U0OPERATOR", language="en")
    return operator


def slack_requests_run_pending() -> list[int]:
    """Run every taken-on Slack interaction's task, as the Celery worker would."""
    from assistant.models import SlackRequest
    from assistant.tasks import slack_request_run_task

    pending = list(
        SlackRequest.objects.filter(status="pending").order_by("pk").values_list("pk", flat=True)
    )
    for pk in pending:
        slack_request_run_task(pk)
    return pending


async def close_connections():
    """Close the connection the tools' thread opened (the test database is dropped after)."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all, thread_sensitive=True)()
