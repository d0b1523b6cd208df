"""HTTP routes of cloud gateways, included at the site root by ``broadcastops.urls``."""

urlpatterns: list = []
