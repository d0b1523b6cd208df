"""HTTP routes of ivs stage scaling, included at the site root by ``broadcastops.urls``."""

urlpatterns: list = []
