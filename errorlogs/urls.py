"""HTTP routes of player errors, included at the site root by ``broadcastops.urls``."""

urlpatterns: list = []
