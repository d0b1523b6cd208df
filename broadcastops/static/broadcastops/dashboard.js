// The admin landing page: poll /healthz and show each part. Later issues add the live channel
// dashboard beside it.
(function () {
  "use strict";
  const script = document.currentScript;
  const statusEl = document.getElementById("bo-health-status");
  const listEl = document.getElementById("bo-health-checks");

  function render(report) {
    listEl.replaceChildren();
    for (const [name, check] of Object.entries(report.checks)) {
      const li = document.createElement("li");
      li.className = check.ok ? "bo-ok" : "bo-bad";
      li.dataset.check = name;
      li.textContent = name + (check.ok ? "" : " — " + check.error);
      listEl.appendChild(li);
    }
    statusEl.textContent = report.status === "ok"
      ? script.dataset.ok
      : script.dataset.failing + " " + report.failing.join(", ");
  }

  async function refresh() {
    try {
      const response = await fetch("/healthz", { headers: { Accept: "application/json" } });
      render(await response.json());
    } catch (err) {
      statusEl.textContent = script.dataset.unreachable;
    }
  }

  refresh();
  setInterval(refresh, 15000);
})();
