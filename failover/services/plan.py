"""The repair as a plan: the FailOverSettings of each attached input before and after."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from broadcastops.actions.services import cloud_error_as_application_error
from broadcastops.cloud import types
from broadcastops.cloud.errors import CloudError
from broadcastops.cloud.tencent import tencent_gateway
from broadcastops.errors import ValidationFailed
from broadcastops.i18n import Message
from broadcastops.inventory.models import LiveChannel
from failover.audit import (
    DEFAULT_LOSS_THRESHOLD_MS,
    DEFAULT_RECOVER_BEHAVIOR,
    LOSS_THRESHOLD_MAX_MS,
    LOSS_THRESHOLD_MIN_MS,
    RECOVER_BEHAVIORS,
    SUPPORTED_INPUT_TYPES,
    ChannelVerdict,
    InputFacts,
    Mapping,
)
from failover.services.facts import flow_facts, input_facts, verdict_of


@dataclass(frozen=True)
class InputChange:
    input_id: str
    name: str
    role: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class Plan:
    """The FailOverSettings of each attached input before and after the repair."""

    channel_id: str
    channel_name: str
    state: str
    primary_input_id: str
    secondary_input_id: str
    loss_threshold_ms: int
    recover_behavior: str
    mapping: Mapping
    verdict: ChannelVerdict
    changes: tuple[InputChange, ...]
    notes: tuple[Message | str, ...] = field(default=())  # rendered when read

    @property
    def has_changes(self) -> bool:
        return any(c.changed for c in self.changes)

    @property
    def after_settings(self) -> types.FailOverSettings:
        return types.FailOverSettings(
            secondary_input_id=self.secondary_input_id,
            loss_threshold_ms=self.loss_threshold_ms,
            recover_behavior=self.recover_behavior,
        )

    def diff_lines(self) -> list[str]:
        """A diff of the channel's configuration: only FailOverSettings lines can change."""
        import json

        lines = [f"channel {self.channel_name} ({self.channel_id}), {self.state}"]
        for c in self.changes:
            label = f"  AttachedInputs[{c.input_id}]" + (f" {c.name}" if c.name else "")
            if c.role:
                label += f" [{c.role}]"
            lines.append(label)
            before = json.dumps(c.before) if c.before is not None else _("(absent)")
            after = json.dumps(c.after) if c.after is not None else _("(absent)")
            if c.changed:
                lines.append(f"-   FailOverSettings: {before}")
                lines.append(f"+   FailOverSettings: {after}")
            else:
                lines.append(f"    FailOverSettings: {before}")
        lines.append("  " + _("(every other field is sent back unchanged)"))
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, every sentence in the active language."""
        return {
            "channel_id": self.channel_id,
            "channel": self.channel_name,
            "state": self.state,
            "verdict": self.verdict.verdict,
            "reason": str(self.verdict.reason),
            "primary_input_id": self.primary_input_id,
            "secondary_input_id": self.secondary_input_id,
            "loss_threshold_ms": self.loss_threshold_ms,
            "recover_behavior": self.recover_behavior,
            "mapping": {
                "confidence": self.mapping.confidence,
                "basis": self.mapping.basis_text,
                "main_flow": self.mapping.main_flow,
                "backup_flow": self.mapping.backup_flow,
            },
            "has_changes": self.has_changes,
            "changes": [
                {
                    "input_id": c.input_id,
                    "name": c.name,
                    "role": c.role,
                    "before": c.before,
                    "after": c.after,
                    "changed": c.changed,
                }
                for c in self.changes
            ],
            "diff": self.diff_lines(),
            "notes": [str(n) for n in self.notes],
        }


def params_validate(loss_threshold_ms: object, recover_behavior: object) -> None:
    if not isinstance(loss_threshold_ms, int) or not (
        LOSS_THRESHOLD_MIN_MS <= loss_threshold_ms <= LOSS_THRESHOLD_MAX_MS
    ):
        raise ValidationFailed(
            _("The loss threshold must be between 1000 and 86400000 ms (3000 is recommended)."),
            detail={"loss_threshold_ms": loss_threshold_ms},
        )
    if recover_behavior not in RECOVER_BEHAVIORS:
        raise ValidationFailed(
            _("The recover behaviour is CURRENT_PREFERRED or PRIMARY_PREFERRED."),
            detail={"recover_behavior": recover_behavior},
        )


def plan_build(
    cloud: types.LiveChannel,
    *,
    secondary_input_id: str | None,
    primary_input_id: str | None,
    loss_threshold_ms: int,
    recover_behavior: str,
) -> Plan:
    ids = list(cloud.input_ids)
    inputs = input_facts(ids)
    verdict = verdict_of(
        cloud.id, cloud.name, cloud.state, cloud.attached_inputs, inputs, flow_facts(ids)
    )
    mapping = verdict.mapping
    attached = {a.id: a for a in cloud.attached_inputs}
    primary = primary_input_id or ""
    secondary = secondary_input_id or ""
    if not primary and verdict.protected:
        # Already protected: keep the configured pair unless the operator names another.
        configured = [
            i.input_id for i in verdict.inputs if i.failover and i.failover["SecondaryInputId"]
        ]
        primary = mapping.primary_id if mapping.primary_id in configured else configured[0]
        configured_failover = attached[primary].failover
        assert configured_failover is not None  # primary is one of the configured inputs
        secondary = secondary or configured_failover.secondary_input_id
    if not primary:
        primary = mapping.primary_id
        if not primary and secondary and len(ids) == 2:
            primary = next(i for i in ids if i != secondary)
    if not secondary:
        secondary = mapping.backup_id if mapping.backup_id != primary else ""
        if not secondary and primary and len(ids) == 2:
            secondary = next(i for i in ids if i != primary)
    choices = {"inputs": [{"id": i, "name": (inputs.get(i) or InputFacts(i)).name} for i in ids]}
    if len(ids) < 2:
        raise ValidationFailed(
            _("%(name)s has only one input attached: attach a backup input first.")
            % {"name": cloud.name},
            code="no_backup_input",
            detail=choices,
        )
    if not primary or not secondary:
        raise ValidationFailed(
            _(
                "Cannot tell which input of %(name)s is MAIN and which BACKUP: no StreamLink flow "
                "or name decides it. Choose the backup input (and the primary if needed)."
            )
            % {"name": cloud.name},
            code="ambiguous",
            detail=choices,
        )
    for role, input_id in (("primary", primary), ("secondary", secondary)):
        if input_id not in attached:
            raise ValidationFailed(
                _("Input %(input)s is not attached to %(name)s.")
                % {"input": input_id, "name": cloud.name},
                code="invalid_secondary" if role == "secondary" else "invalid_primary",
                detail=choices,
            )
    if primary == secondary:
        raise ValidationFailed(
            _("The backup input must be another input than the primary."),
            code="invalid_secondary",
            detail=choices,
        )
    primary_type = (inputs.get(primary) or InputFacts(primary)).type
    secondary_type = (inputs.get(secondary) or InputFacts(secondary)).type
    if primary_type and primary_type not in SUPPORTED_INPUT_TYPES:
        raise ValidationFailed(
            _("%(input)s is a %(type)s input: StreamLive fails over RTMP_PUSH and RTP_PUSH only.")
            % {"input": primary, "type": primary_type},
            code="unsupported_input_type",
        )
    if primary_type and secondary_type and primary_type != secondary_type:
        raise ValidationFailed(
            _("The backup input is %(b)s but the primary is %(p)s: they must be of the same type.")
            % {"b": secondary_type, "p": primary_type},
            code="invalid_secondary",
            detail=choices,
        )
    after = types.FailOverSettings(
        secondary_input_id=secondary,
        loss_threshold_ms=loss_threshold_ms,
        recover_behavior=recover_behavior,
    ).to_api()
    role_of = {primary: "primary", secondary: "backup"}
    changes = []
    for a in cloud.attached_inputs:
        before = a.failover.to_api() if a.failover is not None else None
        changes.append(
            InputChange(
                input_id=a.id,
                name=(inputs.get(a.id) or InputFacts(a.id)).name,
                role=role_of.get(a.id, ""),
                before=before,
                after=after if a.id == primary else before,
            )
        )
    notes: list[Message | str] = list(verdict.notes)
    chosen = primary_input_id or secondary_input_id
    if (
        chosen
        and mapping.resolved
        and (primary, secondary) != (mapping.primary_id, mapping.backup_id)
    ):
        notes.append(
            _("The chosen pair differs from the flows' mapping (%(p)s → %(b)s).")
            % {"p": mapping.primary_id, "b": mapping.backup_id}
        )
    return Plan(
        channel_id=cloud.id,
        channel_name=cloud.name,
        state=cloud.state,
        primary_input_id=primary,
        secondary_input_id=secondary,
        loss_threshold_ms=loss_threshold_ms,
        recover_behavior=recover_behavior,
        mapping=mapping,
        verdict=verdict,
        changes=tuple(changes),
        notes=tuple(notes),
    )


def failover_plan(
    *,
    channel: LiveChannel,
    secondary_input_id: str | None = None,
    primary_input_id: str | None = None,
    loss_threshold_ms: int = DEFAULT_LOSS_THRESHOLD_MS,
    recover_behavior: str = DEFAULT_RECOVER_BEHAVIOR,
) -> Plan:
    """The repair of ``channel``'s failover as a before/after diff, from a fresh read."""
    params_validate(loss_threshold_ms, recover_behavior)
    try:
        cloud = tencent_gateway().live_channel_get(channel_id=channel.cloud_id)
    except CloudError as exc:
        raise cloud_error_as_application_error(exc, channel.name) from exc
    return plan_build(
        cloud,
        secondary_input_id=secondary_input_id,
        primary_input_id=primary_input_id,
        loss_threshold_ms=loss_threshold_ms,
        recover_behavior=recover_behavior,
    )
