"""The failover audit as pure functions: facts in, verdicts out, no database and no cloud.

Which input is MAIN and which BACKUP comes from the StreamLink flows feeding them, matched by
endpoint (high confidence); where the flows do not decide it, the inputs' names (``_m``/``_b``,
main/backup) or, with exactly two inputs, the other input / the attachment order (low
confidence). The rules are those of reference/tencent-media-api.md 2.2: failover is effective
only if the primary names a secondary that is another attached input of the same type, with a
LossThreshold within 1000-86400000 ms; ``""``/``0`` is misconfigured, absent is off.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from django.utils.translation import gettext_lazy as _

from broadcastops.cloud.types import RECOVER_BEHAVIORS, AttachedInput, FailOverSettings
from broadcastops.inventory.matching import role_from_name
from broadcastops.inventory.models import InputRole
from failover.models import Verdict

# Documented for RTMP_PUSH and RTP_PUSH inputs (StreamLive "Input Failover", fact sheet 2.2).
SUPPORTED_INPUT_TYPES = ("RTMP_PUSH", "RTP_PUSH")
LOSS_THRESHOLD_MIN_MS = 1000
LOSS_THRESHOLD_MAX_MS = 86_400_000
DEFAULT_LOSS_THRESHOLD_MS = 3000  # the recommended value
DEFAULT_RECOVER_BEHAVIOR = RECOVER_BEHAVIORS[0]  # CURRENT_PREFERRED

HIGH, LOW, NONE = "high", "low", "none"

# When the channel is not protected, the verdict of which input speaks for it.
_SEVERITY = (
    Verdict.INVALID_SECONDARY,
    Verdict.THRESHOLD_OUT_OF_RANGE,
    Verdict.UNSUPPORTED_INPUT_TYPE,
    Verdict.ENABLED_WITHOUT_BACKUP,
    Verdict.OFF,
)

# --- operator messages (translated by the lead: keep the placeholders) ---------------------

CONSOLE_STEPS = (
    _("Open the Tencent Cloud console: StreamLive → Channel Management."),
    _("Select the channel %(channel)s and click Edit."),
    _("Go to Input Settings and make sure Input Failover is switched on."),
    _("Next to the primary input %(primary)s, open “Backup Input” and select %(backup)s."),
    _("Set Loss Threshold to %(threshold)s ms (3000 ms is recommended)."),
    _(
        "Set Recover Behavior: CURRENT_PREFERRED stays on the backup after the primary "
        "recovers; PRIMARY_PREFERRED switches back to the primary."
    ),
    _("Click Save, then run the failover audit again to see the API show it."),
)
FIX_HERE = _(
    "Or let BroadcastOps do it through the API: the admin action “Fix input failover”, "
    "POST /api/v1/failover/%(channel)s/apply, or `failover_fix %(channel)s --apply`."
)

CAUSE_NOT_SELECTED = _(
    "The backup input was never selected in the “Backup Input” drop-down after the Input "
    "Failover toggle was switched on (the most likely cause)."
)
CAUSE_NOT_SAVED = _("The settings were changed in the console but never saved (Save not clicked).")
CAUSE_NOT_SYNCED = _(
    "The API has not caught up with a change made in the console a moment ago: audit again "
    "in a few minutes."
)
CAUSE_NOT_MAPPED = _(
    "Nobody mapped which input is MAIN and which is BACKUP: several inputs are attached and "
    "the StreamLink flows feeding them were not matched to them."
)
CAUSE_NOT_MAPPED_KNOWN = _(
    "With %(count)s inputs attached, which is MAIN and which BACKUP may never have been mapped "
    "in the console; the StreamLink flows say MAIN → %(primary)s, BACKUP → %(backup)s."
)
CAUSE_DETACHED = _(
    "The backup input was detached, replaced or re-created after failover was set, or a "
    "wrong input was picked."
)
CAUSE_NEVER_ENABLED = _(
    "Input failover was never switched on for this channel (or was switched off)."
)


@dataclass(frozen=True)
class InputFacts:
    """A StreamLive input as the audit needs it."""

    id: str
    name: str = ""
    type: str = ""  # "" when the inventory does not know the input


@dataclass(frozen=True)
class FlowFacts:
    """A StreamLink flow feeding (by endpoint) one of the channel's inputs, or none."""

    id: str
    name: str
    role: str  # InputRole: MAIN / BACKUP / UNKNOWN (from the name)
    feeds_input_id: str = ""  # matched by endpoint; "" when no input matched


@dataclass(frozen=True)
class Mapping:
    """Which attached input is the primary (fed by MAIN) and which the backup."""

    primary_id: str = ""
    backup_id: str = ""
    confidence: str = NONE  # high: both by endpoint; low: names, other input or order
    basis: str = ""
    main_flow: str = ""
    backup_flow: str = ""
    notes: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        return bool(self.primary_id and self.backup_id)


@dataclass(frozen=True)
class InputVerdict:
    input_id: str
    name: str
    type: str
    role: str  # MAIN, BACKUP or "" (from the mapping)
    verdict: str
    reason: str
    failover: dict | None


@dataclass(frozen=True)
class ChannelVerdict:
    channel_id: str
    name: str
    state: str
    verdict: str
    reason: str
    inputs: tuple[InputVerdict, ...]
    mapping: Mapping
    fingerprint: str
    causes: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def protected(self) -> bool:
        return self.verdict == Verdict.OK

    def to_dict(self) -> dict:
        return {
            "channel_id": self.channel_id,
            "name": self.name,
            "state": self.state,
            "verdict": self.verdict,
            "protected": self.protected,
            "reason": self.reason,
            "primary_input_id": self.mapping.primary_id,
            "backup_input_id": self.mapping.backup_id,
            "mapping": {
                "confidence": self.mapping.confidence,
                "basis": self.mapping.basis,
                "main_flow": self.mapping.main_flow,
                "backup_flow": self.mapping.backup_flow,
                "notes": list(self.mapping.notes),
            },
            "inputs": [asdict(i) for i in self.inputs],
            "causes": list(self.causes),
            "steps": list(self.steps),
            "notes": list(self.notes),
            "fingerprint": self.fingerprint,
        }


# --- helpers -------------------------------------------------------------------------------


def failover_from_json(raw) -> FailOverSettings | None:
    """The inventory's ``{"SecondaryInputId", "LossThreshold", "RecoverBehavior"}`` (or None)."""
    if not isinstance(raw, dict):
        return None
    return FailOverSettings(
        secondary_input_id=raw.get("SecondaryInputId") or "",
        loss_threshold_ms=int(raw.get("LossThreshold") or 0),
        recover_behavior=raw.get("RecoverBehavior") or "",
    )


def attached_from_json(attached_inputs: Iterable[dict]) -> tuple[AttachedInput, ...]:
    return tuple(
        AttachedInput(id=a.get("id") or "", failover=failover_from_json(a.get("failover")))
        for a in attached_inputs
    )


def settings_fingerprint(attached: Sequence[AttachedInput]) -> str:
    """A digest of every attached input's FailOverSettings: equal digests, equal settings."""
    payload = sorted(
        (a.id, a.failover.to_api() if a.failover is not None else None) for a in attached
    )
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def _label(input_id: str, inputs: dict[str, InputFacts]) -> str:
    facts = inputs.get(input_id)
    return f"{facts.name} ({input_id})" if facts and facts.name else input_id


# --- mapping -------------------------------------------------------------------------------


def inputs_map(
    *,
    attached_ids: Sequence[str],
    inputs: dict[str, InputFacts],
    flows: Sequence[FlowFacts],
) -> Mapping:
    """Primary and backup input of a channel, from the flows feeding them, else their names."""
    attached = list(attached_ids)
    notes: list[str] = []
    by_role: dict[str, list[FlowFacts]] = {InputRole.MAIN: [], InputRole.BACKUP: []}
    for flow in flows:
        if flow.role in by_role and flow.feeds_input_id in attached:
            by_role[flow.role].append(flow)
    picked: dict[str, tuple[str, str, str]] = {}  # role -> (input id, confidence, flow name)
    for role, role_flows in by_role.items():
        targets = sorted({f.feeds_input_id for f in role_flows})
        if len(targets) == 1:
            names = ", ".join(sorted(f.name for f in role_flows))
            picked[role] = (targets[0], HIGH, names)
        elif len(targets) > 1:
            notes.append(
                str(_("%(role)s flows feed several inputs (%(inputs)s): not decisive."))
                % {"role": role, "inputs": ", ".join(targets)}
            )
    if (
        InputRole.MAIN in picked
        and InputRole.BACKUP in picked
        and picked[InputRole.MAIN][0] == picked[InputRole.BACKUP][0]
    ):
        notes.append(
            str(_("The MAIN and the BACKUP flow feed the same input %(input)s: not decisive."))
            % {"input": picked[InputRole.MAIN][0]}
        )
        picked.clear()
    basis = [str(_("StreamLink flows matched by endpoint"))] if picked else []

    # Where endpoints do not decide it, the inputs' names may suggest it (typed by hand: low).
    taken = {v[0] for v in picked.values()}
    by_name_added = False
    for role in (InputRole.MAIN, InputRole.BACKUP):
        if role in picked:
            continue
        candidates = [
            i
            for i in attached
            if i not in taken and role_from_name((inputs.get(i) or InputFacts(i)).name)[0] == role
        ]
        if len(candidates) == 1:
            picked[role] = (candidates[0], LOW, "")
            taken.add(candidates[0])
            by_name_added = True
    if by_name_added:
        basis.append(str(_("input names (low confidence)")))

    # With exactly two inputs, one known role gives the other; none known, the order does.
    if len(attached) == 2:
        first, second = attached
        if InputRole.MAIN in picked and InputRole.BACKUP not in picked:
            other = second if picked[InputRole.MAIN][0] == first else first
            picked[InputRole.BACKUP] = (other, LOW, "")
            basis.append(str(_("the only other attached input (low confidence)")))
        elif InputRole.BACKUP in picked and InputRole.MAIN not in picked:
            other = second if picked[InputRole.BACKUP][0] == first else first
            picked[InputRole.MAIN] = (other, LOW, "")
            basis.append(str(_("the only other attached input (low confidence)")))
        elif not picked:
            picked[InputRole.MAIN] = (first, LOW, "")
            picked[InputRole.BACKUP] = (second, LOW, "")
            basis.append(str(_("the attachment order (low confidence)")))

    primary = picked.get(InputRole.MAIN, ("", NONE, ""))
    backup = picked.get(InputRole.BACKUP, ("", NONE, ""))
    if primary[0] and backup[0]:
        confidence = HIGH if primary[1] == backup[1] == HIGH else LOW
    else:
        confidence = NONE
    return Mapping(
        primary_id=primary[0],
        backup_id=backup[0],
        confidence=confidence,
        basis="; ".join(basis),
        main_flow=primary[2],
        backup_flow=backup[2],
        notes=tuple(notes),
    )


# --- verdicts ------------------------------------------------------------------------------


def input_verdict(
    attached: AttachedInput, attached_ids: Sequence[str], inputs: dict[str, InputFacts]
) -> tuple[str, str]:
    """(verdict, reason) of one attached input's own FailOverSettings."""
    fo = attached.failover
    me = inputs.get(attached.id) or InputFacts(attached.id)
    label = _label(attached.id, inputs)
    if fo is None:
        return Verdict.OFF, str(_("%(input)s has no FailOverSettings: failover is off.")) % {
            "input": label
        }
    if me.type and me.type not in SUPPORTED_INPUT_TYPES:
        return Verdict.UNSUPPORTED_INPUT_TYPE, str(
            _(
                "Failover is asked of %(input)s, a %(type)s input; StreamLive documents input "
                "failover for RTMP_PUSH and RTP_PUSH inputs only."
            )
        ) % {"input": label, "type": me.type}
    if not fo.secondary_input_id:
        return Verdict.ENABLED_WITHOUT_BACKUP, str(
            _(
                "Input failover is switched on for %(input)s but no backup input is selected "
                "(SecondaryInputId is empty, LossThreshold %(threshold)s): it has no protection."
            )
        ) % {"input": label, "threshold": fo.loss_threshold_ms}
    secondary = fo.secondary_input_id
    if secondary == attached.id:
        return Verdict.INVALID_SECONDARY, str(_("%(input)s names itself as its backup input.")) % {
            "input": label
        }
    if secondary not in attached_ids:
        return Verdict.INVALID_SECONDARY, str(
            _("The backup input %(backup)s of %(input)s is not attached to this channel.")
        ) % {"input": label, "backup": secondary}
    other = inputs.get(secondary) or InputFacts(secondary)
    if me.type and other.type and me.type != other.type:
        return Verdict.INVALID_SECONDARY, str(
            _(
                "The backup input %(backup)s is %(backup_type)s but the primary %(input)s is "
                "%(type)s: StreamLive needs both of the same type."
            )
        ) % {
            "input": label,
            "type": me.type,
            "backup": _label(secondary, inputs),
            "backup_type": other.type,
        }
    if not LOSS_THRESHOLD_MIN_MS <= fo.loss_threshold_ms <= LOSS_THRESHOLD_MAX_MS:
        return Verdict.THRESHOLD_OUT_OF_RANGE, str(
            _(
                "LossThreshold of %(input)s is %(threshold)s ms; StreamLive accepts 1000 to "
                "86400000 ms (3000 ms is recommended)."
            )
        ) % {"input": label, "threshold": fo.loss_threshold_ms}
    return Verdict.OK, str(
        _("%(input)s fails over to %(backup)s after %(threshold)s ms without signal (%(rb)s).")
    ) % {
        "input": label,
        "backup": _label(secondary, inputs),
        "threshold": fo.loss_threshold_ms,
        "rb": fo.recover_behavior or DEFAULT_RECOVER_BEHAVIOR,
    }


def _steps(channel_name: str, primary: str, backup: str, threshold: int) -> tuple[str, ...]:
    values = {
        "channel": channel_name,
        "primary": primary or str(_("(the input fed by the MAIN flow)")),
        "backup": backup or str(_("(the input fed by the BACKUP flow)")),
        "threshold": threshold,
    }
    return (*(str(s) % values for s in CONSOLE_STEPS), str(FIX_HERE) % values)


def channel_audit(
    *,
    channel_id: str,
    name: str,
    state: str,
    attached: Sequence[AttachedInput],
    inputs: dict[str, InputFacts],
    flows: Sequence[FlowFacts],
) -> ChannelVerdict:
    """One verdict for the channel and one per attached input, with causes and console steps."""
    ids = [a.id for a in attached]
    mapping = inputs_map(attached_ids=ids, inputs=inputs, flows=flows)
    own = {a.id: input_verdict(a, ids, inputs) for a in attached}
    ok_primaries = [a for a in attached if own[a.id][0] == Verdict.OK]
    backups_of = {a.failover.secondary_input_id: a.id for a in ok_primaries}
    role_of = {mapping.primary_id: InputRole.MAIN, mapping.backup_id: InputRole.BACKUP}
    notes: list[str] = list(mapping.notes)

    per_input = []
    for a in attached:
        verdict, reason = own[a.id]
        if a.id in backups_of and verdict in (Verdict.OFF, Verdict.ENABLED_WITHOUT_BACKUP):
            # The shape real accounts return for a backup (seed 000): nothing to fix there.
            verdict = Verdict.OK
            reason = str(
                _("%(input)s is the backup of %(primary)s; it needs no settings of its own.")
            ) % {"input": _label(a.id, inputs), "primary": _label(backups_of[a.id], inputs)}
        facts = inputs.get(a.id) or InputFacts(a.id)
        per_input.append(
            InputVerdict(
                input_id=a.id,
                name=facts.name,
                type=facts.type,
                role=str(role_of.get(a.id, "")),
                verdict=str(verdict),
                reason=reason,
                failover=a.failover.to_api() if a.failover is not None else None,
            )
        )

    primary_label = _label(mapping.primary_id, inputs) if mapping.primary_id else ""
    backup_label = _label(mapping.backup_id, inputs) if mapping.backup_id else ""
    causes: tuple[str, ...] = ()
    if not attached:
        verdict, reason = Verdict.OFF, str(_("No input is attached to this channel."))
    elif ok_primaries:
        verdict = Verdict.OK
        primary = next((a for a in ok_primaries if a.id == mapping.primary_id), ok_primaries[0])
        reason = own[primary.id][1]
        if mapping.resolved and primary.id != mapping.primary_id:
            notes.append(
                str(
                    _(
                        "The configured primary %(configured)s is not the input fed by the MAIN "
                        "flow (%(primary)s): check that this is intended."
                    )
                )
                % {"configured": _label(primary.id, inputs), "primary": primary_label}
            )
    else:
        if all(own[i][0] == Verdict.OFF for i in ids):
            verdict = Verdict.OFF
        elif mapping.primary_id and own[mapping.primary_id][0] != Verdict.OFF:
            verdict = own[mapping.primary_id][0]
        else:
            verdict = next(v for v in _SEVERITY if any(own[i][0] == v for i in ids))
        speaker = (
            mapping.primary_id
            if mapping.primary_id and own[mapping.primary_id][0] == verdict
            else next(i for i in ids if own[i][0] == verdict)
        )
        reason = own[speaker][1]
        if verdict == Verdict.OFF:
            reason = str(
                _(
                    "Input failover is off: no input has FailOverSettings. If the MAIN input "
                    "stops, the channel shows the loss image instead of switching to BACKUP."
                )
            )
            causes = (str(CAUSE_NEVER_ENABLED),)
        elif verdict == Verdict.ENABLED_WITHOUT_BACKUP:
            causes = tuple(str(c) for c in (CAUSE_NOT_SELECTED, CAUSE_NOT_SAVED, CAUSE_NOT_SYNCED))
            if len(ids) > 2 and mapping.confidence == HIGH:
                causes += (
                    str(CAUSE_NOT_MAPPED_KNOWN)
                    % {"count": len(ids), "primary": primary_label, "backup": backup_label},
                )
            elif len(ids) > 2:
                causes += (str(CAUSE_NOT_MAPPED),)
        elif verdict == Verdict.INVALID_SECONDARY:
            causes = (str(CAUSE_DETACHED), str(CAUSE_NOT_SAVED))
        elif verdict == Verdict.THRESHOLD_OUT_OF_RANGE:
            causes = (str(CAUSE_NOT_SAVED), str(CAUSE_NOT_SYNCED))
        if len(ids) > 2 and not mapping.resolved and verdict != Verdict.OFF:
            reason = str(
                _(
                    "%(count)s inputs are attached and no StreamLink flow or input name tells "
                    "which is MAIN and which is BACKUP. %(settings)s"
                )
            ) % {"count": len(ids), "settings": reason}
            verdict = Verdict.AMBIGUOUS
            causes = (str(CAUSE_NOT_MAPPED), *causes)
        if len(ids) == 1:
            notes.append(
                str(_("Only one input is attached: attach a backup input of the same type first."))
            )

    steps: tuple[str, ...] = ()
    if verdict == Verdict.UNSUPPORTED_INPUT_TYPE:
        steps = (
            str(
                _(
                    "Create RTMP_PUSH (or RTP_PUSH) inputs for MAIN and BACKUP in StreamLive → "
                    "Input Management, point the StreamLink flows at them, and attach them to "
                    "%(channel)s; then set input failover."
                )
            )
            % {"channel": name},
        )
    elif verdict == Verdict.AMBIGUOUS:
        steps = (
            str(
                _(
                    "Check that the MAIN and BACKUP StreamLink flows push to this channel's "
                    "inputs (the flow's output URL must equal the input's push address), or name "
                    "the backup yourself: failover_fix %(channel)s --secondary INPUT_ID."
                )
            )
            % {"channel": name},
            *_steps(name, "", "", DEFAULT_LOSS_THRESHOLD_MS),
        )
    elif verdict != Verdict.OK:
        steps = _steps(name, primary_label, backup_label, DEFAULT_LOSS_THRESHOLD_MS)
    if mapping.resolved and mapping.confidence == LOW:
        notes.append(
            str(
                _(
                    "MAIN/BACKUP was inferred from %(basis)s, not from the flows' endpoints: "
                    "confirm it before air."
                )
            )
            % {"basis": mapping.basis}
        )
    return ChannelVerdict(
        channel_id=channel_id,
        name=name,
        state=state,
        verdict=str(verdict),
        reason=reason,
        inputs=tuple(per_input),
        mapping=mapping,
        fingerprint=settings_fingerprint(attached),
        causes=causes,
        steps=steps,
        notes=tuple(notes),
    )


def pending_verdict(verdict: ChannelVerdict, *, applied_at: str, actor: str) -> ChannelVerdict:
    """The audit of a channel whose fix was sent but does not show in the API yet."""
    reason = str(
        _(
            "A fix was applied at %(at)s by %(actor)s; the API does not show it yet "
            "(currently: %(current)s)"
        )
    ) % {"at": applied_at, "actor": actor, "current": verdict.reason}
    steps = (
        str(
            _(
                "Wait a few minutes and audit again; if it still does not show, check the "
                "channel in the console: StreamLive → Channel Management → Edit → Input Settings."
            )
        ),
    )
    return ChannelVerdict(
        channel_id=verdict.channel_id,
        name=verdict.name,
        state=verdict.state,
        verdict=str(Verdict.PENDING),
        reason=reason,
        inputs=verdict.inputs,
        mapping=verdict.mapping,
        fingerprint=verdict.fingerprint,
        causes=(str(CAUSE_NOT_SYNCED),),
        steps=steps,
        notes=verdict.notes,
    )
