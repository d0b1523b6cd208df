// The console's landing page: the live channel dashboard (WebSocket /ws/dashboard/, pushed
// when anything changes, reconnecting with backoff) and the system health (/healthz).
(function () {
  "use strict";
  const script = document.currentScript;
  const text = script.dataset;
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, content) {
    const node = document.createElement(tag);
    Object.assign(node, attrs || {});
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function badge(value) {
    return el("span", { className: "bo-badge bo-" + String(value).toLowerCase() }, value);
  }

  // --- system health ---------------------------------------------------------------------
  async function refreshHealth() {
    try {
      const response = await fetch("/healthz", { headers: { Accept: "application/json" } });
      const report = await response.json();
      const list = $("bo-health-checks");
      list.replaceChildren();
      for (const [name, check] of Object.entries(report.checks)) {
        const li = el("li", { className: check.ok ? "bo-ok" : "bo-bad" },
          name + (check.ok ? "" : " — " + check.error));
        li.dataset.check = name;
        list.appendChild(li);
      }
      $("bo-health-status").textContent = report.status === "ok"
        ? text.ok : text.failing + " " + report.failing.join(", ");
    } catch (err) {
      $("bo-health-status").textContent = text.unreachable;
    }
  }

  // --- live dashboard ---------------------------------------------------------------------
  function renderSummary(summary) {
    const box = $("bo-summary");
    box.replaceChildren();
    const live = summary.streamlive;
    const parts = [
      ["StreamLive", live.by_state],
      ["Input", live.by_input],
      ["StreamLink", summary.streamlink.by_state],
      ["CSS", summary.css.by_state],
    ];
    for (const [label, counts] of parts) {
      const item = el("div", { className: "bo-count" });
      item.appendChild(el("strong", {}, label + ": "));
      item.appendChild(document.createTextNode(
        Object.entries(counts || {}).map(([k, v]) => k + " " + v).join(" · ") || "-"));
      box.appendChild(item);
    }
    const attention = el("div", { className: summary.attention ? "bo-count bo-alert" : "bo-count" },
      summary.attention + " " + text.attention);
    attention.id = "bo-attention-count";
    box.appendChild(attention);
    for (const service of summary.services || []) {
      if (service.stale_since) {
        box.appendChild(el("div", { className: "bo-count bo-alert" },
          "❌ " + service.name + " " + text.stale + " " + service.stale_since));
      }
    }
  }

  function renderChannels(channels) {
    const body = $("bo-channels").tBodies[0];
    body.replaceChildren();
    for (const c of channels) {
      const row = el("tr", { className: c.attention ? "bo-attention" : "" });
      row.dataset.channel = c.name;
      const name = el("td");
      name.appendChild(el("a", { href: text.channelUrl + "?q=" + encodeURIComponent(c.name) },
        c.name));
      row.appendChild(name);
      for (const value of [c.state, c.active_input, c.health]) {
        const cell = el("td");
        cell.appendChild(badge(value));
        row.appendChild(cell);
      }
      row.appendChild(el("td", {}, [c.cause, ...(c.warnings || [])].join(" ⚠️ ")));
      body.appendChild(row);
    }
  }

  let delay = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/dashboard/");
    socket.onopen = () => {
      delay = 1000;
      $("bo-live-status").textContent = text.live;
    };
    socket.onmessage = (event) => {
      const snapshot = JSON.parse(event.data);
      if (snapshot.type !== "dashboard") return;
      renderSummary(snapshot.summary);
      renderChannels(snapshot.channels);
      $("bo-dashboard").dataset.updated = String(Date.now());
    };
    socket.onclose = () => {
      $("bo-live-status").textContent = text.reconnecting;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  refreshHealth();
  setInterval(refreshHealth, 15000);
  connect();
})();
