"""The simulator's HTTP server: routing, the request log, faults, latency and ``/_sim/``.

Vendor state lives in two classes with this interface:

``TencentSimulator(scenario: dict, options: SimOptions)`` (``tencent.py``)
    ``handle(*, service, action, version, region, body: bytes, headers, host) -> dict``: the
    whole ``{"Response": ...}`` envelope (errors included, raised as ``TencentApiError``);
    ``control(verb: str, body: dict) -> dict`` for ``POST /_sim/<verb>`` (``signal``, ...).
``IvsSimulator(scenario: dict, options: SimOptions)`` (``ivs.py``)
    ``handle(*, operation, body: bytes, headers) -> (status, headers, payload: dict)``
    (errors raised as ``IvsApiError``); ``control(verb, body) -> dict`` for
    ``POST /_sim/ivs/<verb>`` (``join``, ``publish``, ``leave``).
"""

import ipaddress
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields, replace
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from broadcastops.cloud.simulator.wire import (
    TENCENT_CONTENT_TYPE,
    IvsApiError,
    TencentApiError,
    ivs_error_response,
    tencent_error,
)

logger = logging.getLogger(__name__)

SCENARIO_DIR = Path(__file__).parent / "scenarios"
DEMO_SCENARIO = SCENARIO_DIR / "demo.json"

# The credentials the demo mode and the tests sign with (the simulator checks them).
SIM_SECRET_ID = "AKIDsimulator0000000000000000000000"  # noqa: S105
SIM_SECRET_KEY = "simulator-secret-key-0000000000000"  # noqa: S105 (a local simulator's key)


@dataclass
class SimOptions:
    """Behaviour switches; all settable by ``cloudsim`` flags and ``POST /_sim/options``."""

    secret_id: str = SIM_SECRET_ID
    secret_key: str = SIM_SECRET_KEY
    verify_signature: bool = True
    # StreamLive/StreamLink transitional states last this long (UNCONFIRMED on the real cloud).
    start_delay_s: float = 2.0
    stop_delay_s: float = 1.0
    # Whether ModifyStreamLiveChannel is accepted on a RUNNING channel (both exist in the field).
    modify_running_allowed: bool = False
    rate_limit: bool = True
    # LogInfo Type strings for input failover and recovery (UNCONFIRMED names).
    failover_log_type: str = "PipelineFailover"
    recover_log_type: str = "PipelineRecover"
    seed: int = 7


@dataclass
class Fault:
    service: str
    action: str = "*"
    error_code: str = ""
    http_status: int = 0
    timeout: bool = False
    timeout_s: float = 30.0
    count: int = 1
    # The call is carried out, then the fault answers instead: an answer lost on the way back
    # (a create that happened although the caller saw a timeout or a 500).
    after: bool = False


@dataclass
class Simulator:
    """The whole simulated cloud, shared by the server's threads."""

    scenario: dict = field(default_factory=dict)
    options: SimOptions = field(default_factory=SimOptions)
    latency_ms: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.requests: deque[dict] = deque(maxlen=20000)
        self._seq = 0
        self.reset()

    def reset(self, scenario: dict | None = None) -> None:
        from broadcastops.cloud.simulator.ivs import IvsSimulator
        from broadcastops.cloud.simulator.tencent import TencentSimulator

        with self.lock:
            if scenario is not None:
                self.scenario = scenario
            self.tencent = TencentSimulator(self.scenario, self.options)
            self.ivs = IvsSimulator(self.scenario, self.options)
            self.faults.clear()
            self.requests.clear()
            self.latency_ms = 0

    def record(self, **entry: Any) -> None:
        with self.lock:
            self._seq += 1
            self.requests.append({"seq": self._seq, "time": time.time(), **entry})

    def take_fault(self, service: str, action: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.service in (service, "*") and fault.action in (action, "*"):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None


def _tencent_service(headers: Message) -> str:
    """The service from the credential scope (``.../<date>/<service>/tc3_request``)."""
    auth = headers.get("Authorization", "")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[2]
    except IndexError:
        versions = {"2020-03-26": "mdl", "2020-08-28": "mdc", "2020-05-27": "mdp"}
        return versions.get(headers.get("X-TC-Version", ""), "live")


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
# A scenario file is a few hundred KB; nothing the SDKs send comes near this.
MAX_BODY_BYTES = 32 * 1024 * 1024


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _host_name(host: str) -> str:
    """The name of a Host header without its port (``[::1]:9100`` -> ``::1``)."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' connection pools expect
    # Headers and body leave in two writes: with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms a call on keep-alive connections).
    disable_nagle_algorithm = True
    server_version = "cloudsim/1"
    server: "SimulatorServer"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    # --- plumbing -----------------------------------------------------------------------
    def _body(self) -> bytes:
        raw = (self.headers.get("Content-Length") or "0").strip()
        # int() takes "-1", " 1", "+1" and "1_0"; a length is plain digits, or the read below
        # waits for the end of the connection (-1) or the handler dies (abc).
        if not (raw.isascii() and raw.isdigit()):
            raise BadRequest(400, f"bad Content-Length {raw[:40]!r}")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            raise BadRequest(413, f"bodies are at most {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length else b""

    def _refuse(self, error: BadRequest) -> None:
        # The body was not read: the rest of the connection cannot be trusted.
        self.close_connection = True
        self._send(
            error.status,
            json.dumps({"error": error.message}).encode(),
            "application/json",
            {"Connection": "close"},
        )

    def _control_allowed(self) -> str | None:
        """Why a control request is refused, or None. Only tools on this machine may drive
        the simulator: a loopback client naming a loopback Host (a web page reaching it
        through DNS rebinding names another host), with no Origin but its own (a page on any
        site sends its own; the simulator serves no pages)."""
        if not _is_loopback(self.client_address[0]):
            return "the control API answers loopback clients only"
        host = self.headers.get("Host", "")
        if _host_name(host).lower() not in _LOOPBACK_NAMES:
            return "the control API answers requests for a loopback host only"
        origin = self.headers.get("Origin")
        if origin is not None and origin != f"http://{host}":
            return "the control API answers no cross-origin request"
        return None

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, status: int, obj: object) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    # --- routes -------------------------------------------------------------------------
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/_sim/requests":
            refused = self._control_allowed()
            if refused:
                return self._json(403, {"error": refused})
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            raw_since = query.get("since", "0")
            if not (raw_since.isascii() and raw_since.isdigit()):
                return self._json(400, {"error": "since is a request sequence number"})
            since = int(raw_since)
            with self.server.sim.lock:
                entries = [
                    e
                    for e in self.server.sim.requests
                    if e["seq"] > since
                    and query.get("service", e["service"]) == e["service"]
                    and query.get("action", e["action"]) == e["action"]
                ]
            return self._json(200, {"requests": entries})
        if url.path == "/_sim/health":
            return self._json(200, {"ok": True})
        return self._json(404, {"error": f"no route GET {url.path}"})

    def do_POST(self) -> None:
        try:
            body = self._body()
        except BadRequest as error:
            return self._refuse(error)
        path = urlsplit(self.path).path
        if path.startswith("/_sim/"):
            return self._control(path, body)
        sim = self.server.sim
        if self.headers.get("X-TC-Action"):
            vendor, service, action = (
                "tencent",
                _tencent_service(self.headers),
                self.headers["X-TC-Action"],
            )
        else:
            vendor, service, action = "ivs", "ivs", path.strip("/")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = None
        sim.record(vendor=vendor, service=service, action=action, params=params)
        if sim.latency_ms:
            time.sleep(sim.latency_ms / 1000)
        fault = sim.take_fault(service, action)
        if fault is not None:
            if fault.after:
                self._carry_out(vendor, service, action, body)
            return self._fault(vendor, fault)
        if vendor == "tencent":
            return self._tencent(service, action, body)
        return self._ivs(action, body)

    def _tencent(self, service: str, action: str, body: bytes) -> None:
        try:
            envelope = self.server.sim.tencent.handle(
                service=service,
                action=action,
                version=self.headers.get("X-TC-Version", ""),
                region=self.headers.get("X-TC-Region", ""),
                body=body,
                headers=self.headers,
                host=self.headers.get("Host", ""),
            )
        except TencentApiError as exc:
            envelope = tencent_error(exc.code, exc.message)
        except Exception:  # a simulator bug must still answer like the cloud does
            logger.exception("cloudsim: %s %s failed", service, action)
            envelope = tencent_error("InternalError", "simulator internal error")
        self._send(200, json.dumps(envelope).encode(), TENCENT_CONTENT_TYPE)

    def _ivs(self, operation: str, body: bytes) -> None:
        try:
            status, headers, payload = self.server.sim.ivs.handle(
                operation=operation, body=body, headers=self.headers
            )
        except IvsApiError as exc:
            status, headers, raw = ivs_error_response(exc.error_type, exc.message)
            return self._send(status, raw, "application/json", headers)
        except Exception:
            logger.exception("cloudsim: ivs %s failed", operation)
            status, headers, raw = ivs_error_response("InternalServerException", "internal")
            return self._send(status, raw, "application/json", headers)
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _carry_out(self, vendor: str, service: str, action: str, body: bytes) -> None:
        """Do what the request asks and drop the answer (a fault with ``after``)."""
        sim = self.server.sim
        try:
            if vendor == "ivs":
                sim.ivs.handle(operation=action, body=body, headers=self.headers)
            else:
                sim.tencent.handle(
                    service=service,
                    action=action,
                    version=self.headers.get("X-TC-Version", ""),
                    region=self.headers.get("X-TC-Region", ""),
                    body=body,
                    headers=self.headers,
                    host=self.headers.get("Host", ""),
                )
        except (IvsApiError, TencentApiError):
            pass  # refused: nothing happened, and the fault answers anyway

    def _fault(self, vendor: str, fault: Fault) -> None:
        if fault.timeout:
            time.sleep(fault.timeout_s)
        if fault.http_status:
            return self._send(fault.http_status, b"injected fault", "text/plain")
        code = fault.error_code or (
            "InternalError" if vendor == "tencent" else "InternalServerException"
        )
        if vendor == "tencent":
            envelope = tencent_error(code, "injected fault")
            return self._send(200, json.dumps(envelope).encode(), TENCENT_CONTENT_TYPE)
        status, headers, raw = ivs_error_response(code, "injected fault")
        return self._send(status, raw, "application/json", headers)

    def _control(self, path: str, body: bytes) -> None:
        refused = self._control_allowed()
        if refused:
            return self._json(403, {"error": refused})
        sim = self.server.sim
        result: dict
        try:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            verb = path[len("/_sim/") :]
            if verb == "reset":
                sim.reset(data.get("scenario"))
                result = {"ok": True}
            elif verb == "fault":
                allowed = {f.name for f in fields(Fault)}
                unknown = set(data) - allowed
                if unknown or "service" not in data:
                    raise ValueError(f"fault needs 'service'; unknown keys: {sorted(unknown)}")
                with sim.lock:
                    sim.faults.append(Fault(**data))
                result = {"ok": True}
            elif verb == "latency":
                sim.latency_ms = max(0, int(data["ms"]))
                result = {"ok": True, "ms": sim.latency_ms}
            elif verb == "options":
                current = {f.name for f in fields(SimOptions)}
                unknown = set(data) - current
                if unknown:
                    raise ValueError(f"unknown options: {sorted(unknown)}")
                sim.options = replace(sim.options, **data)
                sim.tencent.options = sim.options
                sim.ivs.options = sim.options
                result = {"ok": True}
            elif verb.startswith("ivs/"):
                result = sim.ivs.control(verb[len("ivs/") :], data)
            else:
                result = sim.tencent.control(verb, data)
                if verb == "clock":  # one simulated clock for the whole cloud
                    sim.ivs.clock_advance(float(data["advance_s"]))
        except (KeyError, TypeError, ValueError) as exc:
            return self._json(400, {"error": f"{exc.__class__.__name__}: {exc}"})
        return self._json(200, result)


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        super().__init__(address, Handler)
        self.sim = sim

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def endpoint(self) -> str:
        """``host:port`` as the Tencent SDK wants it (no scheme: it would go in Host)."""
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"


def load_scenario(path: str | Path | None) -> dict:
    """Read a scenario file (the APIs' own objects); the bundled demo when ``path`` is None."""
    with open(path or DEMO_SCENARIO, encoding="utf-8") as handle:
        scenario = json.load(handle)
    if not isinstance(scenario, dict):
        raise ValueError("a scenario is a JSON object with mdl/mdc/mdp/live/ivs/signals keys")
    return scenario


def serve_in_thread(
    scenario: dict | None = None, *, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> SimulatorServer:
    """Start a simulator on a background thread (tests, benchmarks); ``.shutdown()`` stops it."""
    sim = Simulator(scenario=scenario or {}, options=SimOptions(**options))
    server = SimulatorServer((host, port), sim)
    # A short poll interval: shutdown() waits for it, once per test.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="cloudsim", daemon=True
    )
    thread.start()
    return server


__all__ = [
    "DEMO_SCENARIO",
    "SIM_SECRET_ID",
    "SIM_SECRET_KEY",
    "HTTPStatus",
    "SimOptions",
    "Simulator",
    "SimulatorServer",
    "load_scenario",
    "serve_in_thread",
]
