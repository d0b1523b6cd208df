"""HTTP routes of assistants, included at the site root by ``broadcastops.urls``."""

urlpatterns: list = []
