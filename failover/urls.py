"""HTTP routes of input failover, included at the site root by ``broadcastops.urls``."""

urlpatterns: list = []
