"""Inventory services: polling (``sync``) and operator actions (``actions``)."""
