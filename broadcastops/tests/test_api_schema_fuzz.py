"""schemathesis against /api/schema/: every operation, a few generated requests each, as an
Operator; no 500 anywhere and every answer matches the schema (status, content type, body).

Bounded: ``EXAMPLES`` examples per operation with a fixed seed (derandomized), through the
WSGI application in this process (no server, no network). Nothing names an existing
resource, so operations that act on a cloud stop at validation or at a 404: no cloud call.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

pytestmark = pytest.mark.django_db

EXAMPLES = 5


@pytest.fixture(autouse=True)
def _one_connection_for_the_test():
    # Django closes the database connection after each request; the test client turns that
    # off (the test's transaction lives on that connection), schemathesis's WSGI client not.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def operator_token(operator):
    from rest_framework.authtoken.models import Token

    return Token.objects.create(user=operator).key


# Read at collection through the application itself (the schema view needs no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says(case, operator_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {operator_token}"},
        # Input strictness is not what this checks: like DRF, the API ignores unknown query
        # parameters (and a malformed limit falls back to the default), and a schema cannot
        # say every rule a schema-valid request may break (confirm must be true, the file a
        # video, the channel exist): those get a 4xx error body, which the schema documents.
        excluded_checks=[negative_data_rejection, positive_data_acceptance],
    )
