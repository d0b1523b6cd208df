// Live monitoring page: upload, watch over a WebSocket with per-frame acknowledgement,
// reconnect with backoff. Playback lives on the server, so coming back to the page (or
// reconnecting) joins the running stream where it is instead of restarting it.
(function () {
  "use strict";
  const root = document.getElementById("live-monitoring");
  const $ = (id) => document.getElementById(id);
  const canOperate = root.dataset.canOperate === "1";
  const maxBytes = Number(root.dataset.maxUploadBytes);
  const extensions = root.dataset.extensions.split(",");
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const img = $("lm-frame");
  const UPLOAD_TIMEOUT_MS = 30 * 60 * 1000;
  // Texts come from Django's JavaScript catalogue (/jsi18n/, loaded before this script).
  const fmt = (text, values) => interpolate(text, values, true);
  const STATES = {
    idle: pgettext("stream state", "idle"),
    waiting: pgettext("stream state", "waiting"),
    playing: pgettext("stream state", "playing"),
    lagging: pgettext("stream state", "lagging"),
    ended: pgettext("stream state", "ended"),
  };

  const state = {
    ws: null, camera: null, backoffMs: 500, reconnectTimer: null, frameUrl: null,
    framesShown: 0, lastStatus: null, connected: false, wanted: false,
  };
  window.liveMonitoring = state; // read by the browser tests and handy in the console

  function showError(message) {
    const box = $("lm-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function statusLine() {
    const s = state.lastStatus;
    let text = state.connected ? gettext("Connected") : gettext("Disconnected");
    if (state.reconnectTimer) {
      text = fmt(gettext("Reconnecting in %(seconds)s s"), { seconds: (state.backoffMs / 1000).toFixed(1) });
    }
    if (s) {
      text += " · " + (STATES[s.state] || s.state);
      if (s.position_s !== null) {
        text += " · " + fmt(gettext("%(position)s / %(duration)s s"),
          { position: s.position_s.toFixed(1), duration: s.duration_s.toFixed(1) });
      }
      text += " · " + fmt(gettext("%(fps)s fps"), { fps: s.fps });
      text += " · " + fmt(ngettext("%(count)s viewer", "%(count)s viewers", s.viewers), { count: s.viewers });
      if (s.speed !== null) {
        text += " · " + fmt(gettext("speed %(speed)s×"), { speed: s.speed }) + (s.loop ? " · " + gettext("loop") : "");
      }
      if (s.session_id) text += " · " + fmt(gettext("session %(id)s"), { id: s.session_id.slice(0, 8) });
    }
    $("lm-status").textContent = text;
  }

  function camera() { return $("lm-camera").value.trim(); }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    if (state.ws) { state.ws.onclose = null; state.ws.close(); }
    state.camera = camera();
    if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/.test(state.camera)) { showError(gettext("A camera id is 1-64 letters, digits, dots, dashes or underscores, not starting with a dot.")); return; }
    localStorage.setItem("broadcastops.liveMonitoring.camera", state.camera);
    state.wanted = true;
    const width = $("lm-width").value;
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const url = proto + location.host + "/ws/live-monitoring/" + encodeURIComponent(state.camera) + "/" + (width ? "?width=" + width : "");
    const ws = new WebSocket(url);
    let unacked = 0, pendingUrl = null;  // frames received since the last acknowledgement
    ws.binaryType = "blob";
    state.ws = ws;
    ws.onopen = () => { state.connected = true; state.backoffMs = 500; showError(""); statusLine(); };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") {
        const message = JSON.parse(event.data);
        if (message.type === "error") showError(message.message);
        else state.lastStatus = message;
        if (message.loop !== undefined && message.loop !== null && canOperate) {
          $("lm-loop").checked = message.loop;
          if (message.speed) $("lm-speed").value = String(message.speed);
        }
        statusLine();
        return;
      }
      unacked += 1;
      const next = URL.createObjectURL(event.data);
      // A frame that arrived while the previous one was still loading replaces it.
      if (pendingUrl) URL.revokeObjectURL(pendingUrl);
      pendingUrl = next;
      img.onload = img.onerror = () => {
        if (state.frameUrl) URL.revokeObjectURL(state.frameUrl);
        state.frameUrl = next;
        pendingUrl = null;
        state.framesShown += 1;
        $("lm-placeholder").hidden = true;
        // The acknowledgement is what lets the server send the next (newest) frames. The
        // server keeps up to ack_window frames in flight, so one "ack N" per window does.
        const windowSize = (state.lastStatus && state.lastStatus.ack_window) || 1;
        if (unacked >= windowSize && ws.readyState === WebSocket.OPEN) {
          ws.send(unacked === 1 ? "ack" : "ack " + unacked);
          unacked = 0;
        }
      };
      img.src = next;
    };
    ws.onclose = (event) => {
      state.connected = false;
      if (event.code === 4403) { showError(gettext("Your account may not watch live monitoring.")); statusLine(); return; }
      if (!state.wanted) return;
      state.reconnectTimer = setTimeout(connect, state.backoffMs);
      statusLine();
      state.backoffMs = Math.min(state.backoffMs * 2, 10000);
    };
  }

  function api(method, path, body) {
    return fetch(path, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15000),
    }).then(async (response) => {
      const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
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

  function upload() {
    const file = $("lm-file").files[0];
    if (!file) { showError(gettext("Choose a video file first.")); return; }
    const extension = file.name.split(".").pop().toLowerCase();
    if (!extensions.includes(extension)) {
      showError(fmt(gettext("“%(name)s” is not a supported video type; use %(types)s."),
        { name: file.name, types: extensions.join(", ") }));
      return;
    }
    if (file.size > maxBytes) {
      showError(fmt(gettext("The video is larger than the %(size)s GiB limit."), { size: (maxBytes / 1024 ** 3).toFixed(1) }));
      return;
    }
    showError("");
    const cam = camera();
    const form = new FormData();
    form.append("video", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/live-monitoring/upload-video?camera_id=" + encodeURIComponent(cam));
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.timeout = UPLOAD_TIMEOUT_MS;
    const bar = $("lm-progress");
    bar.hidden = false; bar.value = 0;
    const done = (message) => { $("lm-upload").disabled = false; $("lm-progress-text").textContent = message; };
    xhr.upload.onprogress = (event) => {
      if (!event.lengthComputable) return;
      bar.value = Math.round((100 * event.loaded) / event.total);
      $("lm-progress-text").textContent = bar.value < 100
        ? fmt(gettext("Uploading… %(percent)s"), { percent: bar.value + " %" })
        : gettext("Checking the video…");
    };
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = {}; }
      if (xhr.status !== 201) {
        done("");
        bar.hidden = true;
        showError(data.message || fmt(gettext("The upload failed (HTTP %(status)s)."), { status: xhr.status }));
        return;
      }
      done(fmt(gettext("Uploaded %(resolution)s, %(duration)s s at %(fps)s fps."), {
        resolution: data.resolution, duration: data.duration_s.toFixed(1), fps: data.fps.toFixed(1),
      }));
      api("POST", "/api/v1/live-monitoring/cameras/" + encodeURIComponent(cam) + "/start", {
        upload_id: data.upload_id, loop: $("lm-loop").checked, speed: Number($("lm-speed").value),
      }).then(() => { if (state.camera !== cam || !state.connected) connect(); }, (e) => showError(e.message));
    };
    xhr.onerror = () => { done(""); bar.hidden = true; showError(gettext("Cannot reach the server; the upload did not arrive. Check the connection and try again.")); };
    xhr.ontimeout = () => { done(""); bar.hidden = true; showError(gettext("The upload took longer than 30 minutes and was stopped; try a smaller file.")); };
    $("lm-upload").disabled = true;
    xhr.send(form);
  }

  function playback() {
    api("POST", "/api/v1/live-monitoring/cameras/" + encodeURIComponent(camera()) + "/playback", {
      loop: $("lm-loop").checked, speed: Number($("lm-speed").value),
    }).catch((e) => showError(e.message));
  }

  $("lm-watch").addEventListener("click", connect);
  $("lm-width").addEventListener("change", connect);
  if (canOperate) {
    $("lm-upload").addEventListener("click", upload);
    $("lm-loop").addEventListener("change", playback);
    $("lm-speed").addEventListener("change", playback);
    $("lm-stop").addEventListener("click", () => {
      api("POST", "/api/v1/live-monitoring/cameras/" + encodeURIComponent(camera()) + "/stop").catch((e) => showError(e.message));
    });
  }
  const params = new URLSearchParams(location.search);
  const remembered = params.get("camera") || localStorage.getItem("broadcastops.liveMonitoring.camera");
  if (remembered) $("lm-camera").value = remembered;
  window.addEventListener("pagehide", () => { state.wanted = false; if (state.ws) state.ws.close(); });
  connect();
})();
