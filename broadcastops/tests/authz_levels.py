"""Who may use an endpoint, for the authorisation tables (``<app>/tests/authz.py``).

Each level names the least of the five identities the matrix tries (anonymous, signed in
with no role, Viewer, Operator, Admin) that may use the endpoint; every identity above it may
too. ``NO_ONE`` refuses all five (a read-only admin page's "add", ``/metrics`` without its
scraper token).
"""

from enum import IntEnum


class Who(IntEnum):
    ANYONE = 0  # anonymous callers included
    SIGNED_IN = 1  # any account, with or without a role
    VIEWER = 2
    OPERATOR = 3
    ADMIN = 4
    NO_ONE = 5


ANYONE = Who.ANYONE
SIGNED_IN = Who.SIGNED_IN
VIEWER = Who.VIEWER
OPERATOR = Who.OPERATOR
ADMIN = Who.ADMIN
NO_ONE = Who.NO_ONE

# The identities in the order the matrix tries them, each with the rank it holds.
IDENTITIES = {"anonymous": 0, "no role": 1, "Viewer": 2, "Operator": 3, "Admin": 4}


def read_only_admin(view: Who = VIEWER) -> dict[str, Who]:
    """The admin of a model nobody edits there (rows come from the clouds or the services)."""
    return {"view": view, "add": NO_ONE, "change": NO_ONE, "delete": NO_ONE}
