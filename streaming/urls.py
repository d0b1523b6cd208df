"""HTTP routes of live monitoring, included at the site root by ``broadcastops.urls``."""

urlpatterns: list = []
