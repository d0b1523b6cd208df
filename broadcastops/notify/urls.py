"""HTTP routes of notifications, included at the site root by ``broadcastops.urls``."""

urlpatterns: list = []
