"""What a client may send on the console's sockets, and how a bad message ends the socket.

A message the socket cannot use closes it with a WebSocket close code and a reason (1003 for
a binary frame where text is expected, 1008 for text that breaks the socket's rules), after
a JSON ``{"type": "error", "message": ...}`` saying the same, since daphne drops close
reasons. The server logs one warning line per such close, never a traceback.
"""

import json
import logging

from broadcastops.asgi_types import Message, Send
from broadcastops.jsonlimits import JSON_MAX_DEPTH, json_depth_exceeds

logger = logging.getLogger(__name__)

UNSUPPORTED_DATA = 1003
POLICY_VIOLATION = 1008
# No client message on these sockets comes near this.
MAX_MESSAGE_CHARS = 4096


class BadMessage(Exception):
    def __init__(self, reason: str, *, code: int = POLICY_VIOLATION):
        super().__init__(reason)
        self.reason = reason
        self.code = code


def text_of(message: Message) -> str:
    """The text of a ``websocket.receive`` message; BadMessage for binary or oversized ones."""
    text = message.get("text")
    if text is None:
        raise BadMessage("binary frames are not accepted here", code=UNSUPPORTED_DATA)
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadMessage(f"messages are at most {MAX_MESSAGE_CHARS} characters")
    return str(text)


def json_of(text: str) -> object:
    """``text`` as JSON; BadMessage for what is not JSON or is nested too deeply."""
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
    except ValueError as exc:
        raise BadMessage("the message is not JSON") from exc
    else:
        if not json_depth_exceeds(value, JSON_MAX_DEPTH):
            return value
    raise BadMessage(f"the message nests deeper than {JSON_MAX_DEPTH} levels")


async def close_for(send: Send, error: BadMessage, *, what: str) -> None:
    """Tell the client why, close the socket, log one line (``what`` names the socket)."""
    logger.warning("WebSocket closed (%s): %s (code %s)", what, error.reason, error.code)
    await send({"type": "websocket.send", "text": json.dumps(error_message(error))})
    await send({"type": "websocket.close", "code": error.code, "reason": error.reason})


def error_message(error: BadMessage) -> dict[str, str]:
    return {"type": "error", "code": "bad_message", "message": error.reason}
