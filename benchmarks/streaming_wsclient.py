"""A small asyncio WebSocket client for the streaming benchmark and tests.

No third-party client is pinned in the project, and a benchmark wants control over every
read: a "stalled" viewer here simply stops reading its socket, as a frozen browser tab
does, so TCP pushes back on the server.
"""

import asyncio
import base64
import os
import struct
from dataclasses import dataclass

OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeRefused(Exception):
    def __init__(self, status_line: str):
        super().__init__(status_line)
        self.status_line = status_line


@dataclass
class Message:
    opcode: int
    data: bytes

    @property
    def is_binary(self) -> bool:
        return self.opcode == OP_BINARY

    @property
    def text(self) -> str:
        return self.data.decode()


class WsClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(
        cls, host: str, port: int, path: str, *, cookie: str = "", read_buffer: int = 0
    ) -> "WsClient":
        reader, writer = await asyncio.open_connection(host, port, limit=2**22)
        sock = writer.get_extra_info("socket")
        if read_buffer:
            import socket

            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, read_buffer)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"Origin: http://{host}:{port}",
        ]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode()
        if " 101 " not in status_line + " ":
            writer.close()
            raise HandshakeRefused(status_line)
        return cls(reader, writer)

    async def recv(self) -> Message:
        """The next data message; answers pings, raises ConnectionError on close."""
        while True:
            first, second = await self.reader.readexactly(2)
            opcode = first & 0x0F
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            data = await self.reader.readexactly(length) if length else b""
            if opcode == OP_PING:
                self._send(OP_PONG, data)
                continue
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                raise ConnectionError(f"closed by server with code {code}")
            return Message(opcode, data)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(header + mask + masked)

    async def send_text(self, text: str) -> None:
        self._send(OP_TEXT, text.encode())
        await self.writer.drain()

    async def close(self) -> None:
        try:
            self._send(OP_CLOSE, struct.pack("!H", 1000))
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (OSError, TimeoutError, ConnectionError):
            pass
