"""The assistants' Celery tasks: answer a Slack interaction, then report the action it began."""

import logging

from celery import Task, shared_task
from django.conf import settings

from assistant.slack.handlers import SlackResponseError, slack_action_report, slack_request_run

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def slack_request_run_task(request_id: int) -> None:
    """Act on one taken-on Slack interaction and answer through its response_url. Not
    retried: the row is marked done before the answer is posted, so it never acts twice, and
    an answer Slack did not take (after the client's own bounded retries) is logged."""
    try:
        slack_request_run(request_id=request_id)
    except SlackResponseError as exc:
        logger.warning("Slack request %s: answer not delivered: %s", request_id, exc)


@shared_task(bind=True, max_retries=3, ignore_result=True)
def slack_action_report_task(self: Task, request_id: int) -> None:
    """Wait for the action a Slack button began (SLACK_FOLLOW_TIMEOUT_S) and post its outcome."""
    try:
        slack_action_report(request_id=request_id, timeout_s=settings.SLACK_FOLLOW_TIMEOUT_S)
    except SlackResponseError as exc:
        raise self.retry(countdown=2**self.request.retries) from exc
