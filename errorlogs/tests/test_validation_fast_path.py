"""The validation's fast path for valid reports (``validation._report_fast``) against the
field-by-field checks (``validation._report``): the same report for what the checks accept,
and a step aside (``_NotPlain``) for whatever they refuse, so a refusal names the same fields
as before."""

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from errorlogs import endpoint, validation
from errorlogs.errors import ReportInvalid
from errorlogs.tests.conftest import report
from errorlogs.tests.test_fuzz import INFO_FIELDS, json_values, mutated_report
from errorlogs.types import Client

CLIENT = Client(address="203.0.113.7", origin="http://players.example")
RECEIVED = datetime(2026, 1, 8, 12, 34, 56, 789000, tzinfo=UTC)
SAME_ID = uuid.UUID(int=7)


def _both(item):
    """(fast, slow): each a Report or the exception it raised."""
    rules = validation._Rules.now()
    outcomes = []
    for check in (validation._report_fast, validation._report):
        try:
            outcomes.append(
                check(item, client=CLIENT, received_at=RECEIVED, address="203.0.113.0", rules=rules)
            )
        except (validation._NotPlain, validation._ItemInvalid, ReportInvalid) as exc:
            outcomes.append(exc)
    return outcomes


def _without_random_id(outcome):
    # A report without reportId gets a random one on each path.
    if isinstance(outcome, validation.Report):
        return dataclasses.replace(outcome, report_id=SAME_ID)
    return outcome


@pytest.mark.django_db
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    item=mutated_report()
    | st.builds(
        lambda body, key, value: {**body, "clientInfo": {**body["clientInfo"], key: value}},
        st.builds(report),
        st.sampled_from(INFO_FIELDS),
        json_values,
    )
    | json_values
)
def test_the_fast_path_keeps_what_the_checks_keep_and_steps_aside_for_the_rest(item):
    fast, slow = (_without_random_id(outcome) for outcome in _both(item))
    if isinstance(slow, validation.Report):
        # Either the same report, or stepped aside (a str subclass, say): never another one.
        assert fast == slow or isinstance(fast, validation._NotPlain)
    else:
        assert isinstance(fast, validation._NotPlain), (item, fast, slow)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("streamId", ""),
        ("streamId", "cam\x00"),
        ("errorMessage", "\ud800"),
        ("timestamp", "yesterday"),
        ("statusCode", True),
        ("reportId", "not-a-uuid"),
        ("clientInfo", []),
        ("userAgent", "x" * 513),
    ],
)
def test_each_refusal_goes_to_the_checks_that_name_it(field, value):
    fast, slow = _both({**report(), field: value})
    assert isinstance(fast, validation._NotPlain)
    assert isinstance(slow, validation._ItemInvalid)
    assert field in slow.errors


def test_the_accepted_body_is_what_json_would_write():
    import json

    for count in (0, 1, 99, 500, 10**6):
        assert endpoint._accepted(count) == json.dumps({"accepted": count}).encode()
