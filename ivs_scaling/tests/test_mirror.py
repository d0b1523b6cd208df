"""The broadcaster mirrored in a real Redis (the scaled mode), and the database when Redis is
away."""

import pytest

from ivs_scaling import mirror
from ivs_scaling.models import Publisher
from ivs_scaling.selectors import publisher_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_mirror(settings, redis_url):
    import redis

    settings.REDIS_URL = redis_url
    mirror._client.cache_clear()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(mirror.PREFIX + "*"):
        client.delete(key)
    yield client
    mirror._client.cache_clear()


def test_the_publisher_is_read_from_redis_once_written(
    show_kit, redis_mirror, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        participant = show_kit.broadcaster_joins(publish=True)
    key = f"{mirror.PREFIX}{show_kit.show.pk}"
    assert redis_mirror.hget(key, "participant_id").decode() == participant
    assert 0 < redis_mirror.ttl(key) <= mirror.TTL_S
    # A read does not touch the database once the mirror holds the publisher.
    Publisher.objects.filter(show=show_kit.show).update(user_id="changed-behind-its-back")
    assert publisher_state(show=show_kit.show).user_id == "host-1"
    # The watch rewrites it: the publishing state and the doors follow.
    show_kit.watch()
    state = publisher_state(show=show_kit.show)
    assert state.user_id == "changed-behind-its-back"
    assert state.publishing is True and state.doors_open is True


def test_without_redis_the_database_answers(show_kit, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.REDIS_SOCKET_TIMEOUT_S = 0.2
    mirror._client.cache_clear()
    try:
        participant = show_kit.broadcaster_joins(publish=False)
        mirror.mirror_write(show_kit.show.pk, None)  # logged, not raised
        assert publisher_state(show=show_kit.show).participant_id == participant
    finally:
        mirror._client.cache_clear()
