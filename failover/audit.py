"""The failover audit as pure functions: facts in, verdicts out, no database and no cloud.

Which input is MAIN and which BACKUP comes from the StreamLink flows feeding them, matched by
endpoint (high confidence); where the flows do not decide it, the inputs' names (``_m``/``_b``,
main/backup) or, with exactly two inputs, the other input / the attachment order (low
confidence). The rules are those of reference/tencent-media-api.md 2.2: failover is effective
only if the primary names a secondary that is another attached input of the same type, with a
LossThreshold within 1000-86400000 ms; ``""``/``0`` is misconfigured, absent is off.

Reasons, causes, steps and notes are ``Message``s (``failover.messages``): the audit stores
them as codes (``ChannelVerdict.to_json``) and each reader sees them in their own language
(``to_dict``, ``report_render``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from broadcastops.cloud.types import RECOVER_BEHAVIORS, AttachedInput, FailOverSettings

__all__ = ["RECOVER_BEHAVIORS"]  # the choices offered with the defaults below
from broadcastops.i18n import Message, messages_from_json, messages_json
from broadcastops.inventory.matching import role_from_name
from broadcastops.inventory.models import InputRole
from failover import messages as m
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
    basis: tuple[Message, ...] = ()
    main_flow: str = ""
    backup_flow: str = ""
    notes: tuple[Message, ...] = ()

    @property
    def resolved(self) -> bool:
        return bool(self.primary_id and self.backup_id)

    @property
    def basis_text(self) -> str:
        """What the mapping rests on, in the active language."""
        return "; ".join(b.render() for b in self.basis)


@dataclass(frozen=True)
class InputVerdict:
    input_id: str
    name: str
    type: str
    role: str  # MAIN, BACKUP or "" (from the mapping)
    verdict: str
    reason: Message
    failover: dict[str, Any] | None


@dataclass(frozen=True)
class ChannelVerdict:
    """One channel's verdict; every sentence a ``Message``, text only when read."""

    channel_id: str
    name: str
    state: str
    verdict: str
    reason: Message
    inputs: tuple[InputVerdict, ...]
    mapping: Mapping
    fingerprint: str
    causes: tuple[Message, ...] = ()
    steps: tuple[Message, ...] = ()
    notes: tuple[Message, ...] = field(default=())

    @property
    def protected(self) -> bool:
        return self.verdict == Verdict.OK

    def to_json(self) -> dict[str, Any]:
        """The verdict as stored (``FailoverAudit.report``): sentences as codes."""
        return {
            "channel_id": self.channel_id,
            "name": self.name,
            "state": self.state,
            "verdict": self.verdict,
            "protected": self.protected,
            "reason": self.reason.as_json(),
            "primary_input_id": self.mapping.primary_id,
            "backup_input_id": self.mapping.backup_id,
            "mapping": {
                "confidence": self.mapping.confidence,
                "basis": messages_json(self.mapping.basis),
                "main_flow": self.mapping.main_flow,
                "backup_flow": self.mapping.backup_flow,
                "notes": messages_json(self.mapping.notes),
            },
            "inputs": [{**asdict(i), "reason": i.reason.as_json()} for i in self.inputs],
            "causes": messages_json(self.causes),
            "steps": messages_json(self.steps),
            "notes": messages_json(self.notes),
            "fingerprint": self.fingerprint,
        }

    def to_dict(self) -> dict[str, Any]:
        """The verdict as read: sentences in the active language."""
        return report_render(self.to_json())


def report_render(report: dict[str, Any]) -> dict[str, Any]:
    """A stored report with its sentences rendered in the active language (``to_dict``'s
    shape). Reports stored before codes hold text: shown as it is."""
    mapping = report.get("mapping") or {}
    basis = mapping.get("basis")
    rendered = {
        **report,
        "reason": Message.from_json(report.get("reason")).render(),
        "mapping": {
            **mapping,
            # Stored before codes: one string; now: a list of messages.
            "basis": basis
            if isinstance(basis, str)
            else "; ".join(x.render() for x in messages_from_json(basis)),
            "notes": [x.render() for x in messages_from_json(mapping.get("notes"))],
        },
        "inputs": [
            {**i, "reason": Message.from_json(i.get("reason")).render()}
            for i in report.get("inputs") or ()
        ],
    }
    for key in ("causes", "steps", "notes"):
        rendered[key] = [x.render() for x in messages_from_json(report.get(key))]
    return rendered


# --- helpers -------------------------------------------------------------------------------


def failover_from_json(raw: object) -> FailOverSettings | None:
    """The inventory's ``{"SecondaryInputId", "LossThreshold", "RecoverBehavior"}`` (or None)."""
    if not isinstance(raw, dict):
        return None
    return FailOverSettings(
        secondary_input_id=raw.get("SecondaryInputId") or "",
        loss_threshold_ms=int(raw.get("LossThreshold") or 0),
        recover_behavior=raw.get("RecoverBehavior") or "",
    )


def attached_from_json(attached_inputs: Iterable[dict[str, Any]]) -> tuple[AttachedInput, ...]:
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
    notes: list[Message] = []
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
            notes.append(m.NOTE_FLOWS_FEED_SEVERAL(role=role, inputs=", ".join(targets)))
    if (
        InputRole.MAIN in picked
        and InputRole.BACKUP in picked
        and picked[InputRole.MAIN][0] == picked[InputRole.BACKUP][0]
    ):
        notes.append(m.NOTE_FLOWS_FEED_SAME(input=picked[InputRole.MAIN][0]))
        picked.clear()
    basis: list[Message] = [m.BASIS_ENDPOINTS()] if picked else []

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
        basis.append(m.BASIS_NAMES())

    # With exactly two inputs, one known role gives the other; none known, the order does.
    if len(attached) == 2:
        first, second = attached
        if InputRole.MAIN in picked and InputRole.BACKUP not in picked:
            other = second if picked[InputRole.MAIN][0] == first else first
            picked[InputRole.BACKUP] = (other, LOW, "")
            basis.append(m.BASIS_OTHER_INPUT())
        elif InputRole.BACKUP in picked and InputRole.MAIN not in picked:
            other = second if picked[InputRole.BACKUP][0] == first else first
            picked[InputRole.MAIN] = (other, LOW, "")
            basis.append(m.BASIS_OTHER_INPUT())
        elif not picked:
            picked[InputRole.MAIN] = (first, LOW, "")
            picked[InputRole.BACKUP] = (second, LOW, "")
            basis.append(m.BASIS_ORDER())

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
        basis=tuple(basis),
        main_flow=primary[2],
        backup_flow=backup[2],
        notes=tuple(notes),
    )


# --- verdicts ------------------------------------------------------------------------------


def input_verdict(
    attached: AttachedInput, attached_ids: Sequence[str], inputs: dict[str, InputFacts]
) -> tuple[str, Message]:
    """(verdict, reason) of one attached input's own FailOverSettings."""
    fo = attached.failover
    me = inputs.get(attached.id) or InputFacts(attached.id)
    label = _label(attached.id, inputs)
    if fo is None:
        return Verdict.OFF, m.REASON_NO_SETTINGS(input=label)
    if me.type and me.type not in SUPPORTED_INPUT_TYPES:
        return Verdict.UNSUPPORTED_INPUT_TYPE, m.REASON_UNSUPPORTED_TYPE(input=label, type=me.type)
    if not fo.secondary_input_id:
        return Verdict.ENABLED_WITHOUT_BACKUP, m.REASON_NO_BACKUP(
            input=label, threshold=fo.loss_threshold_ms
        )
    secondary = fo.secondary_input_id
    if secondary == attached.id:
        return Verdict.INVALID_SECONDARY, m.REASON_SELF_BACKUP(input=label)
    if secondary not in attached_ids:
        return Verdict.INVALID_SECONDARY, m.REASON_BACKUP_NOT_ATTACHED(
            input=label, backup=secondary
        )
    other = inputs.get(secondary) or InputFacts(secondary)
    if me.type and other.type and me.type != other.type:
        return Verdict.INVALID_SECONDARY, m.REASON_TYPE_MISMATCH(
            input=label,
            type=me.type,
            backup=_label(secondary, inputs),
            backup_type=other.type,
        )
    if not LOSS_THRESHOLD_MIN_MS <= fo.loss_threshold_ms <= LOSS_THRESHOLD_MAX_MS:
        return Verdict.THRESHOLD_OUT_OF_RANGE, m.REASON_THRESHOLD(
            input=label, threshold=fo.loss_threshold_ms
        )
    return Verdict.OK, m.REASON_PROTECTED(
        input=label,
        backup=_label(secondary, inputs),
        threshold=fo.loss_threshold_ms,
        rb=fo.recover_behavior or DEFAULT_RECOVER_BEHAVIOR,
    )


def _steps(channel_name: str, primary: str, backup: str, threshold: int) -> tuple[Message, ...]:
    return (
        m.STEP_OPEN_CONSOLE(),
        m.STEP_EDIT_CHANNEL(channel=channel_name),
        m.STEP_INPUT_SETTINGS(),
        m.STEP_SELECT_BACKUP(
            primary=primary or m.THE_MAIN_INPUT(), backup=backup or m.THE_BACKUP_INPUT()
        ),
        m.STEP_THRESHOLD(threshold=threshold),
        m.STEP_RECOVER_BEHAVIOR(),
        m.STEP_SAVE(),
        m.STEP_FIX_HERE(channel=channel_name),
    )


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
    # An OK verdict means FailOverSettings with a secondary: ``failover`` is set.
    backups_of = {a.failover.secondary_input_id: a.id for a in ok_primaries if a.failover}
    role_of = {mapping.primary_id: InputRole.MAIN, mapping.backup_id: InputRole.BACKUP}
    notes: list[Message] = list(mapping.notes)

    per_input = []
    for a in attached:
        verdict, reason = own[a.id]
        if a.id in backups_of and verdict in (Verdict.OFF, Verdict.ENABLED_WITHOUT_BACKUP):
            # The shape real accounts return for a backup (seed 000): nothing to fix there.
            verdict = Verdict.OK
            reason = m.REASON_IS_BACKUP(
                input=_label(a.id, inputs), primary=_label(backups_of[a.id], inputs)
            )
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
    causes: tuple[Message, ...] = ()
    if not attached:
        verdict, reason = Verdict.OFF, m.REASON_NO_INPUT()
    elif ok_primaries:
        verdict = Verdict.OK
        primary = next((a for a in ok_primaries if a.id == mapping.primary_id), ok_primaries[0])
        reason = own[primary.id][1]
        if mapping.resolved and primary.id != mapping.primary_id:
            notes.append(
                m.NOTE_OTHER_PRIMARY(configured=_label(primary.id, inputs), primary=primary_label)
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
            reason = m.REASON_OFF()
            causes = (m.CAUSE_NEVER_ENABLED(),)
        elif verdict == Verdict.ENABLED_WITHOUT_BACKUP:
            causes = (m.CAUSE_NOT_SELECTED(), m.CAUSE_NOT_SAVED(), m.CAUSE_NOT_SYNCED())
            if len(ids) > 2 and mapping.confidence == HIGH:
                causes += (
                    m.CAUSE_NOT_MAPPED_KNOWN(
                        count=len(ids), primary=primary_label, backup=backup_label
                    ),
                )
            elif len(ids) > 2:
                causes += (m.CAUSE_NOT_MAPPED(),)
        elif verdict == Verdict.INVALID_SECONDARY:
            causes = (m.CAUSE_DETACHED(), m.CAUSE_NOT_SAVED())
        elif verdict == Verdict.THRESHOLD_OUT_OF_RANGE:
            causes = (m.CAUSE_NOT_SAVED(), m.CAUSE_NOT_SYNCED())
        if len(ids) > 2 and not mapping.resolved and verdict != Verdict.OFF:
            reason = m.REASON_AMBIGUOUS(count=len(ids), settings=reason)
            verdict = Verdict.AMBIGUOUS
            causes = (m.CAUSE_NOT_MAPPED(), *causes)
        if len(ids) == 1:
            notes.append(m.NOTE_ONE_INPUT())

    steps: tuple[Message, ...] = ()
    if verdict == Verdict.UNSUPPORTED_INPUT_TYPE:
        steps = (m.STEP_CREATE_INPUTS(channel=name),)
    elif verdict == Verdict.AMBIGUOUS:
        steps = (
            m.STEP_MAP_FLOWS(channel=name),
            *_steps(name, "", "", DEFAULT_LOSS_THRESHOLD_MS),
        )
    elif verdict != Verdict.OK:
        steps = _steps(name, primary_label, backup_label, DEFAULT_LOSS_THRESHOLD_MS)
    if mapping.resolved and mapping.confidence == LOW:
        notes.append(m.NOTE_LOW_CONFIDENCE(basis=list(mapping.basis)))
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
    return ChannelVerdict(
        channel_id=verdict.channel_id,
        name=verdict.name,
        state=verdict.state,
        verdict=str(Verdict.PENDING),
        reason=m.REASON_PENDING(at=applied_at, actor=actor, current=verdict.reason),
        inputs=verdict.inputs,
        mapping=verdict.mapping,
        fingerprint=verdict.fingerprint,
        causes=(m.CAUSE_NOT_SYNCED(),),
        steps=(m.STEP_WAIT(),),
        notes=verdict.notes,
    )
