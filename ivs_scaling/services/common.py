"""What the scaling services share: the action kinds, targets and the scaler's identity."""

from __future__ import annotations

from django.core.cache import cache
from django.utils.translation import gettext_noop

from broadcastops.actions.models import Origin
from broadcastops.actions.text import Text, text
from broadcastops.actions.types import Actor, Target
from broadcastops.cloud.ivs import IvsGateway, ivs_gateway
from ivs_scaling.models import Show, Stage

# The action kinds this app registers runners for (ivs_scaling.apps).
CREATE = "ivs_stage.create"
REPLICATION_START = "ivs_stage.replication_start"
REPLICATION_STOP = "ivs_stage.replication_stop"
DELETE = "ivs_stage.delete"
DRAIN = "ivs_stage.drain"
ORPHAN_DELETE = "ivs_stage.orphan_delete"
SHOW_END = "ivs_show.end"

# Tags on every stage the console creates, beside the gateway's managed and create-id tags.
SHOW_TAG = "broadcastops:show"
ROLE_TAG = "broadcastops:role"


def gateway() -> IvsGateway:
    return ivs_gateway()


def scaler(show: Show) -> Actor:
    """The automatic scaler, as the audit trail names it ("scaler:<show>")."""
    return Actor(user=None, origin=Origin.SCALER, ref=show.name)


def stage_target(stage: Stage) -> Target:
    # The create id, not the ARN: it exists before the stage does and never changes, so one
    # running action per stage holds from the create to the delete.
    return Target(type="ivs_stage", id=stage.create_id, name=stage.name)


def show_target(show: Show) -> Target:
    return Target(type="ivs_show", id=show.name, name=show.name)


HOLD_KEY = "ivs:scale-up-hold:%s"
HOLD_S = 60


def scale_up_hold(*, show_id: int) -> None:
    """IVS refused a stage (the region's quota): no new one for a minute, not one a join."""
    cache.set(HOLD_KEY % show_id, 1, timeout=HOLD_S)


def scale_up_held(*, show_id: int) -> bool:
    return bool(cache.get(HOLD_KEY % show_id))


# The choices' labels as stored sentences (the same message ids as the models' labels), for a
# progress line or an event written now and read later in the reader's language.
_LABELS: dict[str, str] = {
    Stage.Replication.NONE: gettext_noop("None (master)"),
    Stage.Replication.PENDING: gettext_noop("Pending: waits for the broadcaster"),
    Stage.Replication.ACTIVE: gettext_noop("Active"),
    Stage.Replication.STOPPED: gettext_noop("Stopped"),
    Stage.Replication.FAILED: gettext_noop("Failed"),
    Stage.Role.MASTER: gettext_noop("master"),
    Stage.Role.SECONDARY: gettext_noop("secondary"),
    Stage.State.CREATING: gettext_noop("Creating"),
    Stage.State.DRAINING: gettext_noop("Draining"),
    Stage.State.DELETED: gettext_noop("Deleted"),
}


def label(value: str) -> Text:
    """A stage's state, role or replication state as a stored, translatable sentence."""
    return text(_LABELS.get(value, value))
