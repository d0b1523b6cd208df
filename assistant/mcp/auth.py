"""Bearer tokens of the MCP server's HTTP mode: the console's DRF tokens
(``POST /api/v1/auth/token/``), each mapped to its console user; the user's role decides
the tools (Viewer reads, Operator writes) at every call."""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from mcp.server.auth.provider import AccessToken
from rest_framework.authtoken.models import Token

from broadcastops.accounts.roles import Role, user_has_role

logger = logging.getLogger(__name__)


def _token_user(key: str) -> AccessToken | None:
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active or not user_has_role(token.user, Role.VIEWER):
        logger.info("MCP bearer token refused (unknown, inactive or without a role)")
        return None
    scopes = ["read"] + (["write"] if user_has_role(token.user, Role.OPERATOR) else [])
    # The key itself is never logged; the user is named by id.
    return AccessToken(
        token=key, client_id=f"drf-token:{token.user.pk}", scopes=scopes, subject=str(token.user.pk)
    )


class DrfTokenVerifier:
    """``TokenVerifier`` over DRF's token table."""

    async def verify_token(self, token: str) -> AccessToken | None:
        if not token or len(token) > 64:
            return None
        return await sync_to_async(_token_user, thread_sensitive=True)(token)
