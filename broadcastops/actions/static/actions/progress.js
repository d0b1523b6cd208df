// Keeps every running action block on an admin page up to date: reads the action from the
// API every two seconds (in the page's language) until it has finished.
(function () {
  "use strict";
  const PERIOD_MS = 2000;

  // The API gives times in the operator's time zone (as the page does): keep its clock time.
  function time(iso) {
    return iso ? iso.slice(11, 19) : "";
  }

  function render(block, action) {
    block.dataset.status = action.status;
    block.querySelector(".bo-action-status").textContent = action.status_display;
    const list = block.querySelector(".bo-action-progress");
    list.replaceChildren(
      ...action.progress.map(function (line) {
        const item = document.createElement("li");
        const when = document.createElement("span");
        when.className = "bo-when";
        when.textContent = time(line.at);
        item.append(when, " " + line.step);
        return item;
      })
    );
    block.querySelector(".bo-action-outcome").textContent = action.outcome;
  }

  function follow(block) {
    fetch(block.dataset.actionUrl, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (action) {
        if (action) render(block, action);
        if (action && action.status === "running") setTimeout(function () { follow(block); }, PERIOD_MS);
      })
      .catch(function () { setTimeout(function () { follow(block); }, PERIOD_MS * 2); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll('.bo-action[data-status="running"]').forEach(function (block) {
      setTimeout(function () { follow(block); }, PERIOD_MS);
    });
  });
})();
