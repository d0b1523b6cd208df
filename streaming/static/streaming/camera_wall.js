// Camera wall: every tile of this page on one WebSocket (/ws/live-monitoring-wall/). Frames
// arrive tagged with their camera (a byte 1, the id's length, the id, the JPEG); each tile
// acknowledges its own frames once per window, so a tile the browser is slow to draw skips
// frames on the server without holding the others back. A click opens a tile at full size
// and rate (the same socket asks for it); the layout is kept per user on the server.
(function () {
  "use strict";
  const root = document.getElementById("camera-wall");
  const $ = (id) => document.getElementById(id);
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const fmt = (text, values) => interpolate(text, values, true);
  const STATES = {
    idle: pgettext("stream state", "idle"),
    waiting: pgettext("stream state", "waiting"),
    playing: pgettext("stream state", "playing"),
    lagging: pgettext("stream state", "lagging"),
    ended: pgettext("stream state", "ended"),
  };
  const ALARMS = {
    frozen: gettext("FROZEN"),
    black: gettext("BLACK"),
    lost: gettext("LOST FEED"),
  };
  const CAMERA_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/;
  const decoder = new TextDecoder();

  const state = {
    ws: null, connected: false, backoffMs: 500, reconnectTimer: null,
    wall: null, order: [], tiles: {}, full: null, window: Number(root.dataset.ackWindow) || 8,
  };
  window.cameraWall = state; // read by the browser tests and handy in the console

  function showError(message) {
    $("cw-error").textContent = message || "";
    $("cw-error").hidden = !message;
  }

  function api(method, path, body) {
    return fetch(path, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15000),
    }).then(async (response) => {
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        throw new Error(data.message || fmt(gettext("The server answered %(status)s."), { status: response.status }));
      }
      return data;
    }, (error) => {
      throw new Error(error.name === "TimeoutError"
        ? gettext("The server did not answer in time.")
        : gettext("Cannot reach the server; check that the console is running."));
    });
  }

  // -- tiles ------------------------------------------------------------------------------
  function tileFor(camera) {
    let tile = state.tiles[camera];
    if (tile) return tile;
    const node = $("cw-tile").content.firstElementChild.cloneNode(true);
    node.dataset.camera = camera;
    node.querySelector(".cw-camera").textContent = camera;
    node.querySelector("img").alt = fmt(gettext("Live view of camera %(camera)s"), { camera: camera });
    tile = {
      camera: camera, node: node, img: node.querySelector("img"), unacked: 0, pending: null,
      loading: false, frameUrl: null, framesShown: 0, fps: 0, lagMs: null, status: null, alarms: [],
      fpsWindow: [performance.now(), 0],
    };
    node.addEventListener("click", () => toggleFull(camera));
    node.addEventListener("keydown", (event) => { if (event.key === "Enter") toggleFull(camera); });
    state.tiles[camera] = tile;
    return tile;
  }

  function caption(tile) {
    const s = tile.status;
    const q = (sel) => tile.node.querySelector(sel);
    q(".cw-state").textContent = s ? (STATES[s.state] || s.state) : "";
    q(".cw-fps").textContent = fmt(gettext("%(fps)s fps"), { fps: tile.fps.toFixed(1) });
    q(".cw-lag").textContent = tile.lagMs === null ? "" : fmt(gettext("lag %(ms)s ms"), { ms: Math.round(tile.lagMs) });
    const alarms = q(".cw-alarms");
    alarms.replaceChildren(...tile.alarms.map((kind) => {
      const badge = document.createElement("span");
      badge.textContent = ALARMS[kind] || kind;
      badge.dataset.alarm = kind;
      return badge;
    }));
    tile.node.classList.toggle("cw-alarm", tile.alarms.length > 0);
  }

  function render() {
    const grid = $("cw-grid");
    grid.className = "cw-grid cw-cols-" + state.wall.layout.columns;
    grid.replaceChildren(...state.order.map((camera) => tileFor(camera).node));
    for (const camera of Object.keys(state.tiles)) {
      if (!state.order.includes(camera)) delete state.tiles[camera];
    }
    for (const camera of state.order) {
      const tile = state.tiles[camera];
      tile.alarms = (state.wall.alarms[camera] || tile.alarms || []).slice();
      tile.node.classList.toggle("cw-full", state.full === camera);
      caption(tile);
    }
    $("cw-empty").hidden = state.order.length > 0;
    summary();
  }

  function summary() {
    const alarmed = state.order.filter((c) => state.tiles[c] && state.tiles[c].alarms.length).length;
    $("cw-summary").textContent = fmt(ngettext("%(count)s camera", "%(count)s cameras", state.order.length), { count: state.order.length })
      + (alarmed ? " · " + fmt(ngettext("%(count)s in alarm", "%(count)s in alarm", alarmed), { count: alarmed }) : "");
  }

  function toggleFull(camera) {
    state.full = state.full === camera ? null : camera;
    render();
    watch();
  }

  // -- the socket --------------------------------------------------------------------------
  function watch() {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify({ type: "watch", cameras: state.order, full: state.full }));
    }
  }

  function onFrame(buffer) {
    const bytes = new Uint8Array(buffer);
    if (bytes[0] !== 1) return;
    const camera = decoder.decode(bytes.subarray(2, 2 + bytes[1]));
    const tile = state.tiles[camera];
    if (!tile) return; // a frame sent before the tile was removed
    const jpeg = bytes.subarray(2 + bytes[1]);
    // The JPEG's comment segment (streaming/frames.py): "BOPS", seq, encode time, position.
    if (jpeg.length > 26 && jpeg[6] === 0x42 && jpeg[7] === 0x4f) {
      const encodedAt = new DataView(buffer, 2 + bytes[1] + 18, 8).getFloat64(0, true);
      tile.lagMs = Math.max(0, Date.now() - encodedAt * 1000);
    }
    tile.unacked += 1;
    const blob = new Blob([jpeg], { type: "image/jpeg" });
    // One picture loading per tile: a frame that comes meanwhile waits (the newest only),
    // instead of aborting the load in progress, which on a busy browser left some tiles
    // loading and never showing.
    if (tile.loading) { tile.pending = blob; return; }
    show(tile, blob);
  }

  function show(tile, blob) {
    const url = URL.createObjectURL(blob);
    tile.loading = true;
    tile.img.onload = tile.img.onerror = () => {
      if (tile.frameUrl) URL.revokeObjectURL(tile.frameUrl);
      tile.frameUrl = url;
      tile.loading = false;
      tile.framesShown += 1;
      tile.node.querySelector(".cw-nopicture").hidden = true;
      // This tile's acknowledgement (every frame received, shown or replaced by a newer
      // one): only its own window opens again.
      if (tile.unacked >= state.window && state.ws && state.ws.readyState === WebSocket.OPEN) {
        state.ws.send("ack " + tile.camera + " " + tile.unacked);
        tile.unacked = 0;
      }
      if (tile.pending) { const next = tile.pending; tile.pending = null; show(tile, next); }
    };
    tile.img.src = url;
  }

  function onText(message) {
    if (message.type === "error") { showError(message.message); return; }
    if (message.type !== "status" && message.type !== "session") return;
    const tile = state.tiles[message.camera_id];
    if (!tile) return;
    tile.status = message;
    if (message.ack_window) state.window = message.ack_window;
    tile.alarms = message.alarms || [];
    state.wall.alarms[message.camera_id] = tile.alarms;
    caption(tile);
    summary();
  }

  function connectionLine() {
    let text = state.connected ? gettext("Connected") : gettext("Disconnected");
    if (state.reconnectTimer) {
      text = fmt(gettext("Reconnecting in %(seconds)s s"), { seconds: (state.backoffMs / 1000).toFixed(1) });
    }
    $("cw-connection").textContent = text;
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (state.ws) { state.ws.onclose = null; state.ws.close(); }
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const query = "?width=" + state.wall.tile_width + "&fps=" + state.wall.tile_fps;
    const ws = new WebSocket(proto + location.host + state.wall.websocket_path + query);
    ws.binaryType = "arraybuffer";
    state.ws = ws;
    ws.onopen = () => {
      state.connected = true; state.backoffMs = 500; showError("");
      for (const tile of Object.values(state.tiles)) tile.unacked = 0;
      connectionLine(); watch();
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") onText(JSON.parse(event.data));
      else onFrame(event.data);
    };
    ws.onclose = (event) => {
      state.connected = false;
      if (event.code === 4403) { showError(gettext("Your account may not watch live monitoring.")); connectionLine(); return; }
      state.reconnectTimer = setTimeout(connect, state.backoffMs);
      connectionLine();
      state.backoffMs = Math.min(state.backoffMs * 2, 10000);
    };
  }

  // Frame rates per tile, from what was drawn (what the operator sees).
  setInterval(() => {
    const now = performance.now();
    for (const tile of Object.values(state.tiles)) {
      const [since, count] = tile.fpsWindow;
      tile.fps = ((tile.framesShown - count) * 1000) / (now - since);
      tile.fpsWindow = [now, tile.framesShown];
      caption(tile);
    }
  }, 1000);

  // -- the layout --------------------------------------------------------------------------
  function choiceRows() {
    const list = $("cw-choice");
    const chosen = state.wall.layout.cameras;
    const known = chosen.concat(state.wall.running.filter((c) => !chosen.includes(c)));
    list.replaceChildren(...known.map((camera) => {
      const row = document.createElement("li");
      row.dataset.camera = camera;
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = !chosen.length || chosen.includes(camera);
      box.disabled = $("cw-all").checked;
      label.append(box, " " + camera);
      const up = document.createElement("button");
      up.type = "button"; up.textContent = "↑"; up.title = gettext("Move up");
      up.addEventListener("click", () => { if (row.previousElementSibling) list.insertBefore(row, row.previousElementSibling); });
      const down = document.createElement("button");
      down.type = "button"; down.textContent = "↓"; down.title = gettext("Move down");
      down.addEventListener("click", () => { if (row.nextElementSibling) list.insertBefore(row.nextElementSibling, row); });
      row.append(label, up, down);
      return row;
    }));
  }

  function saveLayout() {
    const cameras = $("cw-all").checked ? [] : Array.from($("cw-choice").children)
      .filter((row) => row.querySelector("input").checked).map((row) => row.dataset.camera);
    api("PUT", "/api/v1/live-monitoring/wall/layout", { columns: Number($("cw-columns").value), cameras: cameras })
      .then(() => {
        editing = false;
        $("cw-saved").textContent = gettext("Layout saved.");
        return load();
      }, (error) => showError(error.message));
  }

  let editing = false;
  $("cw-layout").addEventListener("input", () => { editing = true; });
  $("cw-layout").addEventListener("click", (event) => { if (event.target.tagName === "BUTTON") editing = true; });

  function load() {
    return api("GET", "/api/v1/live-monitoring/wall").then((wall) => {
      const first = state.wall === null;
      state.wall = wall;
      state.order = wall.tiles.filter((c) => CAMERA_ID.test(c));
      if (state.full && !state.order.includes(state.full)) state.full = null;
      // Not while the operator edits the layout (the periodic reload would undo the edit).
      if (!$("cw-layout").open || !editing) {
        $("cw-columns").value = String(wall.layout.columns);
        $("cw-all").checked = wall.layout.cameras.length === 0;
        choiceRows();
      }
      render();
      if (first) connect(); else watch();
    }, (error) => showError(error.message));
  }

  $("cw-save").addEventListener("click", saveLayout);
  $("cw-all").addEventListener("change", () => {
    for (const box of $("cw-choice").querySelectorAll("input")) box.disabled = $("cw-all").checked;
  });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && state.full) toggleFull(state.full); });
  window.addEventListener("pagehide", () => { if (state.ws) { state.ws.onclose = null; state.ws.close(); } });
  load();
  // Cameras started or stopped elsewhere appear and go (a wall of every running camera).
  setInterval(() => { if (state.wall) load(); }, 10000);
})();
