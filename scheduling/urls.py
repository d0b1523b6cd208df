"""HTTP routes of schedules, included at the site root by ``broadcastops.urls``."""

urlpatterns: list = []
