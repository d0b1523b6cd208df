"""HTTP routes of inventory, included at the site root by ``broadcastops.urls``."""

urlpatterns: list = []
