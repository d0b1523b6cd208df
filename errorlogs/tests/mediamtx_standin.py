"""A local stand-in for a MediaMTX server: its control API v3 and its WHEP endpoint.

Built from MediaMTX's published ``api/openapi.yaml`` (v1.x): ``GET /v3/paths/list`` and
``GET /v3/webrtcsessions/list`` paged with ``page``/``itemsPerPage`` into
``{itemCount, pageCount, items}``; a path item has ``name``, ``online``, ``available``,
``readers``, ``inboundBytes``, ``tracks2`` (``legacy=True``: an older server's ``ready``,
``bytesReceived``, ``tracks``); errors are ``{"status": "error", "error": ...}``. WHEP:
``POST /<path>/whep`` (``application/sdp``) answers 201 with an SDP answer and a session
``Location`` while the path is published, 404 otherwise; ``DELETE`` of the session 200.
``stop()`` takes it off the network (connections refused), ``start()`` brings it back.
"""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class MediaMTXStandIn:
    def __init__(self, *, legacy: bool = False):
        self.legacy = legacy
        self.paths: dict[str, dict] = {}
        self.sessions: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def publish(self, name: str, *, online: bool = True, readers: int = 0) -> None:
        self.paths[name] = {"online": online, "readers": readers}

    def _path_item(self, name: str, state: dict) -> dict:
        readers = [{"type": "webRTCSession", "id": str(uuid.uuid4())}] * state["readers"]
        if self.legacy:
            return {
                "name": name,
                "confName": name,
                "ready": state["online"],
                "bytesReceived": 1000 if state["online"] else 0,
                "tracks": ["H264"] if state["online"] else [],
                "readers": readers,
            }
        return {
            "name": name,
            "confName": name,
            "online": state["online"],
            "available": state["online"],
            "inboundBytes": 1000 if state["online"] else 0,
            "tracks2": [{"codec": "H264", "codecProps": None}] if state["online"] else [],
            "readers": readers,
        }

    def start(self) -> None:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status, body):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Access-Control-Allow-Origin", "*")  # webrtcAllowOrigins
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _page(self, items):
                query = parse_qs(urlsplit(self.path).query)
                page = int(query.get("page", ["0"])[0])
                per = int(query.get("itemsPerPage", ["100"])[0])
                pages = max(1, -(-len(items) // per))
                self._json(
                    200,
                    {
                        "itemCount": len(items),
                        "pageCount": pages,
                        "items": items[page * per : (page + 1) * per],
                    },
                )

            def do_GET(self):
                path = urlsplit(self.path).path
                standin.requests.append(("GET", path))
                if path == "/v3/paths/list":
                    self._page([standin._path_item(n, s) for n, s in standin.paths.items()])
                elif path == "/v3/webrtcsessions/list":
                    self._page(standin.sessions)
                else:
                    self._json(404, {"status": "error", "error": "not found"})

            def do_POST(self):
                path = urlsplit(self.path).path
                standin.requests.append(("POST", path))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                name = path.strip("/").removesuffix("/whep")
                if not path.endswith("/whep"):
                    self._json(404, {"status": "error", "error": "not found"})
                elif self.headers.get("Content-Type") != "application/sdp":
                    self._json(400, {"status": "error", "error": "invalid Content-Type"})
                elif not standin.paths.get(name, {}).get("online"):
                    self._json(
                        404,
                        {"status": "error", "error": f"no stream is available on path '{name}'"},
                    )
                else:
                    answer = b"v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                    self.send_response(201)
                    self.send_header("Content-Type", "application/sdp")
                    self.send_header("Location", f"/{name}/whep/{uuid.uuid4()}")
                    self.send_header("Access-Control-Allow-Origin", "*")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)

            def do_OPTIONS(self):
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header(
                    "Access-Control-Allow-Methods", "OPTIONS, GET, POST, PATCH, DELETE"
                )
                self.send_header(
                    "Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match"
                )
                self.end_headers()

            def do_DELETE(self):
                standin.requests.append(("DELETE", urlsplit(self.path).path))
                self._json(200, {"status": "ok"})

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def server_setting(self, name: str = "main", paths: tuple[str, ...] = ()) -> dict:
        return {"name": name, "api_url": self.url, "whep_url": self.url, "paths": list(paths)}
