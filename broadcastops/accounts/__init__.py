"""Accounts and roles.

Owns the three operator roles (Viewer reads, Operator acts on channels, schedules, uploads and
stages, Admin manages users and settings), the groups that carry their permissions, the
first-run administrator account, and API tokens. It has no models of its own: it uses
``django.contrib.auth`` groups and DRF's tokens.
"""
