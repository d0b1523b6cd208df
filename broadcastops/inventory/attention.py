"""What "needs attention" means: one definition, as SQL (``ATTENTION``) and as reasons.

A channel needs attention when

- its health is amber (degraded) or red (running without any input);
- its data is stale (StreamLive could not be listed: what is shown is the last known state);
- it is on air (running or starting) without input protection: the input-failover audit
  found that losing the MAIN input would not switch it to BACKUP (the incident this console
  exists for). The audit tells the inventory through ``services.channel_protection_set``;
  a channel never audited (``input_protected`` is None) is not counted;
- it is on air with push callbacks configured, but the last switch the poll saw came without
  any callback (``push_missing_since``): failovers reach the console only by polling, and the
  usual cause is a callback URL that the cloud cannot reach.

The dashboard's summary and rows, the admin filter, the API's ``attention=true`` and
``ops_status`` all use this module; a test checks that the query and the reasons agree.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from broadcastops.i18n import Message, choice_message
from broadcastops.inventory import messages as m
from broadcastops.inventory.models import Health, LiveChannel

ATTENTION_HEALTH = (Health.AMBER, Health.RED)
ON_AIR = (LiveChannel.State.RUNNING, LiveChannel.State.STARTING)

ATTENTION = (
    Q(health__in=ATTENTION_HEALTH)
    | Q(stale_since__isnull=False)
    | Q(state__in=ON_AIR, input_protected=False)
    | Q(state__in=ON_AIR, push_missing_since__isnull=False)
)


def channel_attention_reasons(channel: LiveChannel) -> list[Message]:
    """Why ``channel`` needs attention; empty when it does not (the same test as ATTENTION)."""
    reasons: list[Message] = []
    if channel.health in ATTENTION_HEALTH:
        reasons.append(m.ATTENTION_HEALTH(health=choice_message(m.HEALTH, channel.health)))
    if channel.stale_since is not None:
        since = timezone.localtime(channel.stale_since).strftime("%Y-%m-%d %H:%M:%S")
        reasons.append(m.ATTENTION_STALE(since=since))
    if channel.state in ON_AIR and channel.input_protected is False:
        reasons.append(m.ATTENTION_UNPROTECTED())
    if channel.state in ON_AIR and channel.push_missing_since is not None:
        since = timezone.localtime(channel.push_missing_since).strftime("%Y-%m-%d %H:%M:%S")
        reasons.append(m.ATTENTION_CALLBACKS_MISSING(since=since, url=channel.notify_url))
    return reasons
