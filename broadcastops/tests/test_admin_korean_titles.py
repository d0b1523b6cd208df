import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_viewers_read_only_list_is_titled_without_djangos_stray_one(viewer):
    """Django's Korean catalogue titles read-only lists "보기위한 1%s 를(을) 선택"; ours wins."""
    client = Client()
    client.force_login(viewer)
    page = client.get("/admin/notify/notification/", HTTP_ACCEPT_LANGUAGE="ko")
    assert page.status_code == 200
    title = re.search(r"<h1>(.*?)</h1>", page.content.decode()).group(1)
    assert title.startswith("볼 ") and title.endswith(" 선택") and "1" not in title
