// The console's landing page: the live channel dashboard (WebSocket /ws/dashboard/, pushed
// when anything changes, reconnecting with backoff) and the system health (/healthz).
// Texts come from the JavaScript catalogue (/jsi18n/, loaded first); the socket's own texts
// (causes, labels) arrive rendered in the page's language (?lang=).
(function () {
  "use strict";
  const script = document.currentScript;
  const channelUrl = script.dataset.channelUrl;
  const language = document.documentElement.lang || "en";
  const $ = (id) => document.getElementById(id);

  // The health checks' names, as /healthz reports them.
  const CHECK_NAMES = {
    database: gettext("Database"),
    broker: gettext("Task broker"),
    channel_layer: gettext("Channel layer"),
    heartbeat: gettext("Worker heartbeat"),
    live_frames: gettext("Live frames"),
  };

  function el(tag, attrs, content) {
    const node = document.createElement(tag);
    Object.assign(node, attrs || {});
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function badge(value, label) {
    const node = el("span", { className: "bo-badge bo-" + String(value).toLowerCase() },
      label || value);
    node.title = value;
    return node;
  }

  // --- system health ---------------------------------------------------------------------
  async function refreshHealth() {
    try {
      const response = await fetch("/healthz", { headers: { Accept: "application/json" } });
      const report = await response.json();
      const list = $("bo-health-checks");
      list.replaceChildren();
      for (const [name, check] of Object.entries(report.checks)) {
        const title = CHECK_NAMES[name] || name;
        const li = el("li", { className: check.ok ? "bo-ok" : "bo-bad" },
          title + (check.ok ? "" : " — " + check.error));
        li.dataset.check = name;
        list.appendChild(li);
      }
      $("bo-health-status").textContent = report.status === "ok"
        ? gettext("All parts are healthy.")
        : interpolate(gettext("Failing: %(parts)s"),
          { parts: report.failing.map((name) => CHECK_NAMES[name] || name).join(", ") }, true);
    } catch (err) {
      $("bo-health-status").textContent = gettext("The health endpoint cannot be reached.");
    }
  }

  // --- live dashboard ---------------------------------------------------------------------
  function counts(values, labels) {
    return Object.entries(values || {})
      .map(([value, n]) => ((labels || {})[value] || value) + " " + n)
      .join(" · ") || "-";
  }

  function renderSummary(summary, labels) {
    const box = $("bo-summary");
    box.replaceChildren();
    const live = summary.streamlive;
    const parts = [
      ["StreamLive", counts(live.by_state, labels.state)],  // product names stay as they are
      [gettext("Input"), counts(live.by_input, labels.input)],
      ["StreamLink", counts(summary.streamlink.by_state, labels.flow_state)],
      ["CSS", counts(summary.css.by_state, labels.css_state)],
    ];
    for (const [label, text] of parts) {
      const item = el("div", { className: "bo-count" });
      item.appendChild(el("strong", {}, label + ": "));
      item.appendChild(document.createTextNode(text));
      box.appendChild(item);
    }
    const n = summary.attention;
    const attention = el("div", { className: n ? "bo-count bo-alert" : "bo-count" },
      interpolate(ngettext("%(count)s channel needs attention",
        "%(count)s channels need attention", n), { count: n }, true));
    attention.id = "bo-attention-count";
    box.appendChild(attention);
    for (const service of summary.services || []) {
      if (service.stale_since) {
        const since = new Date(service.stale_since).toLocaleString(language);
        box.appendChild(el("div", { className: "bo-count bo-alert" },
          "❌ " + interpolate(gettext("%(service)s unreachable since %(since)s"),
            { service: service.name, since: since }, true)));
      }
    }
  }

  function renderChannels(channels) {
    const body = $("bo-channels").tBodies[0];
    body.replaceChildren();
    for (const c of channels) {
      const row = el("tr", { className: c.attention ? "bo-attention" : "" });
      row.dataset.channel = c.name;
      const name = el("td", { className: "bo-name" });
      name.appendChild(el("a", { href: channelUrl + "?q=" + encodeURIComponent(c.name) },
        c.name));
      row.appendChild(name);
      for (const [value, label] of [[c.state, c.state_label], [c.active_input, c.input_label],
        [c.health, c.health_label]]) {
        const cell = el("td", { className: "bo-badge-cell" });
        cell.appendChild(badge(value, label));
        row.appendChild(cell);
      }
      const cause = el("td", { className: "bo-cause" });
      cause.appendChild(el("div", {}, c.cause));
      // Why it needs attention, where neither the cause nor the badges say it already.
      if (c.attention_also && c.attention_also.length) {
        cause.appendChild(el("div", { className: "bo-reasons" },
          "⚠️ " + c.attention_also.join(" · ")));
      }
      if (c.attention_reasons && c.attention_reasons.length) {
        row.title = c.attention_reasons.join(" · ");
      }
      row.appendChild(cause);
      body.appendChild(row);
    }
  }

  let delay = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/dashboard/?lang="
      + encodeURIComponent(language));
    socket.onopen = () => {
      delay = 1000;
      $("bo-live-status").textContent = gettext("Live — updates arrive without reloading.");
    };
    socket.onmessage = (event) => {
      const snapshot = JSON.parse(event.data);
      if (snapshot.type !== "dashboard") return;
      renderSummary(snapshot.summary, snapshot.labels || {});
      renderChannels(snapshot.channels);
      $("bo-dashboard").dataset.updated = String(Date.now());
    };
    socket.onclose = () => {
      $("bo-live-status").textContent = gettext("Connection lost; reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  refreshHealth();
  setInterval(refreshHealth, 15000);
  connect();
})();
