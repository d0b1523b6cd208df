"""The audit's pure functions: every verdict, and the MAIN/BACKUP mapping."""

from broadcastops.cloud.types import AttachedInput, FailOverSettings
from failover.audit import FlowFacts, InputFacts, channel_audit, inputs_map, pending_verdict

EMPTY = FailOverSettings()
M, B, E = "IN_MAIN", "IN_BACKUP", "IN_EVENT"


def _inputs(**types):
    names = {M: "cj_onstyle_main", B: "cj_onstyle_backup", E: "cj_onstyle_event"}
    return {i: InputFacts(i, names.get(i, i.lower()), t) for i, t in types.items()}


def _rtmp(*ids):
    return _inputs(**dict.fromkeys(ids, "RTMP_PUSH"))


FLOWS = [
    FlowFacts("F1", "cj_onstyle_m2", "MAIN", M),
    FlowFacts("F2", "cj_onstyle_b2", "BACKUP", B),
]


def _audit(attached, inputs, flows=FLOWS):
    return channel_audit(
        channel_id="CH1",
        name="cj_onstyle",
        state="RUNNING",
        attached=attached,
        inputs=inputs,
        flows=flows,
    )


def _paired(threshold=3000, secondary=B):
    return (
        AttachedInput(M, FailOverSettings(secondary, threshold, "CURRENT_PREFERRED")),
        AttachedInput(B, EMPTY),
    )


def test_audit_ok_when_primary_names_an_attached_backup_of_the_same_type():
    v = _audit(_paired(), _rtmp(M, B))
    assert v.verdict == "OK" and v.protected
    assert "fails over to" in str(v.reason) and "3000 ms" in str(v.reason)
    # The backup's own empty settings are what real accounts return: nothing to fix there.
    assert [i.verdict for i in v.inputs] == ["OK", "OK"]
    assert v.steps == ()


def test_audit_off_without_failover_settings():
    v = _audit((AttachedInput(M, None), AttachedInput(B, None)), _rtmp(M, B))
    assert v.verdict == "OFF" and not v.protected
    assert {i.verdict for i in v.inputs} == {"OFF"}
    assert any("Input Failover" in s for s in map(str, v.steps))


def test_audit_flags_the_incident_enabled_without_backup_and_names_primary_and_backup():
    attached = (AttachedInput(M, EMPTY), AttachedInput(B, EMPTY), AttachedInput(E, EMPTY))
    v = _audit(attached, _rtmp(M, B, E))
    assert v.verdict == "ENABLED_WITHOUT_BACKUP"
    assert {i.verdict for i in v.inputs} == {"ENABLED_WITHOUT_BACKUP"}
    assert (v.mapping.primary_id, v.mapping.backup_id) == (M, B)
    assert v.mapping.confidence == "high"
    assert (v.mapping.main_flow, v.mapping.backup_flow) == ("cj_onstyle_m2", "cj_onstyle_b2")
    causes = " ".join(map(str, v.causes))
    for cause in ("never selected", "never saved", "not caught up", "mapped"):
        assert cause in causes
    steps = " ".join(map(str, v.steps))
    assert "StreamLive → Channel Management" in steps and "Save" in steps
    assert f"select cj_onstyle_backup ({B})" in steps


def test_audit_invalid_secondary_itself_not_attached_or_other_type():
    itself = _audit(_paired(secondary=M), _rtmp(M, B))
    assert itself.verdict == "INVALID_SECONDARY" and "itself" in str(itself.reason)
    missing = _audit(_paired(secondary="GONE"), _rtmp(M, B))
    assert missing.verdict == "INVALID_SECONDARY" and "not attached" in str(missing.reason)
    other_type = _audit(_paired(), _inputs(**{M: "RTMP_PUSH", B: "RTP_PUSH"}))
    assert other_type.verdict == "INVALID_SECONDARY" and "same type" in str(other_type.reason)


def test_audit_unsupported_input_type():
    v = _audit(_paired(), _inputs(**{M: "HLS_PULL", B: "HLS_PULL"}))
    assert v.verdict == "UNSUPPORTED_INPUT_TYPE"
    assert "RTMP_PUSH and RTP_PUSH" in str(v.reason)
    assert "Input Management" in str(v.steps[0])


def test_audit_threshold_out_of_range_both_ends():
    for threshold in (500, 86_400_001):
        v = _audit(_paired(threshold=threshold), _rtmp(M, B))
        assert v.verdict == "THRESHOLD_OUT_OF_RANGE", threshold
    assert _audit(_paired(threshold=1000), _rtmp(M, B)).verdict == "OK"
    assert _audit(_paired(threshold=86_400_000), _rtmp(M, B)).verdict == "OK"


def test_audit_ambiguous_when_three_inputs_and_nothing_tells():
    inputs = {i: InputFacts(i, f"feed-{n}", "RTMP_PUSH") for n, i in enumerate((M, B, E))}
    attached = (AttachedInput(M, EMPTY), AttachedInput(B, EMPTY), AttachedInput(E, EMPTY))
    v = _audit(attached, inputs, flows=[])
    assert v.verdict == "AMBIGUOUS"
    assert "3 inputs" in str(v.reason) and "no backup input is selected" in str(v.reason)
    assert "--secondary" in str(v.steps[0])


def test_audit_pending_keeps_the_inputs_and_says_when():
    v = pending_verdict(
        _audit((AttachedInput(M, EMPTY), AttachedInput(B, EMPTY)), _rtmp(M, B)),
        applied_at="2025-11-03 11:00:00",
        actor="operator",
    )
    assert v.verdict == "PENDING" and "2025-11-03 11:00:00 by operator" in str(v.reason)
    assert len(v.inputs) == 2


def test_fingerprint_changes_with_any_settings_and_only_then():
    a = _audit(_paired(), _rtmp(M, B))
    assert _audit(_paired(), _rtmp(M, B)).fingerprint == a.fingerprint
    assert _audit(_paired(threshold=4000), _rtmp(M, B)).fingerprint != a.fingerprint


# --- mapping -------------------------------------------------------------------------------


def test_mapping_by_flow_endpoints_is_high_confidence():
    m = inputs_map(attached_ids=[E, B, M], inputs=_rtmp(M, B, E), flows=FLOWS)
    assert (m.primary_id, m.backup_id, m.confidence) == (M, B, "high")
    assert "endpoint" in m.basis_text


def test_mapping_by_input_names_is_low_confidence_and_said_so():
    m = inputs_map(attached_ids=[M, B, E], inputs=_rtmp(M, B, E), flows=[])
    assert (m.primary_id, m.backup_id, m.confidence) == (M, B, "low")
    assert "names" in m.basis_text
    v = _audit(
        (AttachedInput(M, EMPTY), AttachedInput(B, EMPTY), AttachedInput(E, EMPTY)),
        _rtmp(M, B, E),
        flows=[],
    )
    assert v.verdict == "ENABLED_WITHOUT_BACKUP"
    assert any("confirm it before air" in n for n in map(str, v.notes))


def test_mapping_one_flow_and_the_other_input_of_two():
    # channel-shopping-001: the BACKUP flow pushes to a wrong stream key and matches no input.
    inputs = {M: InputFacts(M, "shop-a", "RTMP_PUSH"), B: InputFacts(B, "shop-z", "RTMP_PUSH")}
    m = inputs_map(attached_ids=[M, B], inputs=inputs, flows=FLOWS[:1])
    assert (m.primary_id, m.backup_id, m.confidence) == (M, B, "low")
    assert "other attached input" in m.basis_text


def test_mapping_ambiguous_when_flows_contradict_or_are_missing():
    both_same = [FlowFacts("F1", "x_m", "MAIN", M), FlowFacts("F2", "x_b", "BACKUP", M)]
    inputs = {i: InputFacts(i, f"feed-{n}", "RTMP_PUSH") for n, i in enumerate((M, B, E))}
    m = inputs_map(attached_ids=[M, B, E], inputs=inputs, flows=both_same)
    assert not m.resolved and m.confidence == "none"
    assert "same input" in str(m.notes[0])
    two_mains = [FlowFacts("F1", "x_m", "MAIN", M), FlowFacts("F3", "y_m", "MAIN", E)]
    m = inputs_map(attached_ids=[M, B, E], inputs=inputs, flows=two_mains)
    assert not m.primary_id and "several inputs" in str(m.notes[0])


def test_mapping_two_inputs_without_any_hint_uses_the_order():
    inputs = {M: InputFacts(M, "a", "RTMP_PUSH"), B: InputFacts(B, "z", "RTMP_PUSH")}
    m = inputs_map(attached_ids=[M, B], inputs=inputs, flows=[])
    assert (m.primary_id, m.backup_id, m.confidence) == (M, B, "low")
    assert "order" in m.basis_text


def test_ok_channel_whose_primary_is_the_backup_flows_input_gets_a_note():
    attached = (AttachedInput(M, EMPTY), AttachedInput(B, FailOverSettings(M, 3000, "")))
    v = _audit(attached, _rtmp(M, B))
    assert v.verdict == "OK"
    assert any("not the input fed by the MAIN flow" in n for n in map(str, v.notes))


def test_a_stored_verdict_renders_in_each_readers_language():
    from broadcastops.i18n import Message
    from failover.audit import report_render

    attached = (AttachedInput(M, EMPTY), AttachedInput(B, EMPTY), AttachedInput(E, EMPTY))
    stored = _audit(attached, _rtmp(M, B, E)).to_json()
    # What the database holds is codes and parameters, never a sentence.
    assert stored["reason"]["code"] == "failover.reason.no_backup"
    assert "Input failover" not in str(stored)
    english = Message.from_json(stored["reason"]).render("en")
    korean = Message.from_json(stored["reason"]).render("ko")
    assert english.startswith("Input failover is switched on for cj_onstyle_main (IN_MAIN)")
    assert "백업 입력이 선택되지 않았습니다" in korean and "cj_onstyle_main (IN_MAIN)" in korean
    from django.utils import translation

    with translation.override("zh-hant"):
        rendered = report_render(stored)
    assert "備援" in " ".join(rendered["steps"])
    assert rendered["mapping"]["basis"] and rendered["inputs"][0]["reason"]


def test_an_audit_stored_before_codes_still_reads():
    from failover.audit import report_render

    old = {
        "reason": "old text",
        "causes": ["a cause"],
        "steps": ["a step"],
        "notes": [],
        "mapping": {"basis": "StreamLink flows matched by endpoint", "notes": []},
        "inputs": [{"input_id": M, "reason": "input text"}],
    }
    rendered = report_render(old)
    assert rendered["reason"] == "old text" and rendered["causes"] == ["a cause"]
    assert rendered["mapping"]["basis"] == "StreamLink flows matched by endpoint"
    assert rendered["inputs"][0]["reason"] == "input text"
