"""The values the engine passes around: who acts, on what, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from broadcastops.actions.models import Origin
from broadcastops.actions.text import Text

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class Target:
    """The resource acted on, as the audit trail names it (``type`` + cloud ``id``)."""

    type: str
    id: str
    name: str = ""


@dataclass(frozen=True)
class Actor:
    """Who acts: a console user (or none), through which origin, and the caller's reference
    there (a Slack user id, an MCP token's owner, a schedule id)."""

    user: User | None = None
    origin: str = Origin.SYSTEM
    ref: str = ""

    @property
    def name(self) -> str:
        if self.user is not None and getattr(self.user, "pk", None):
            return self.user.get_username()
        if self.ref:
            return f"{self.origin}:{self.ref}"
        return str(self.origin)

    @classmethod
    def of(cls, user: Any, origin: str, ref: str = "") -> Actor:
        """The user if it is a real (saved, authenticated) one, else none."""
        real = user if getattr(user, "pk", None) and user.is_authenticated else None
        return cls(user=real, origin=origin, ref=ref)


@dataclass(frozen=True)
class Outcome:
    """How a runner ended: the sentence for people, a code and a result for programs."""

    ok: bool
    text: Text
    code: str = ""
    result: dict[str, Any] = field(default_factory=dict)


class ActionFailed(Exception):
    """Raised by a runner: the action ends as failed with this outcome (no traceback)."""

    def __init__(
        self, text: Text, *, code: str = "failed", result: dict[str, Any] | None = None
    ) -> None:
        super().__init__(text.english())
        self.outcome = Outcome(ok=False, text=text, code=code, result=result or {})


class LeaseLost(Exception):
    """The action was taken over or finished by someone else: stop acting at once."""
