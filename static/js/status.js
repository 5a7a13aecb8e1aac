// Keeps the status card of a service page current without reloading the page: polls the
// read API (answered 304 from cache while nothing changed) and rewrites badge, sentence
// and counts. The page is complete without this script.
(function () {
  "use strict";
  var card = document.querySelector("[data-status-poll]");
  if (!card || !window.fetch) return;
  var url = card.getAttribute("data-status-poll");
  var INTERVAL_MS = 45000;
  var LEVELS = ["ok", "possible", "problems"];

  function text(selector, value) {
    var node = card.querySelector(selector);
    if (node && value !== undefined && value !== null) node.textContent = String(value);
  }

  function apply(data) {
    var status = data.status || {};
    var badge = card.querySelector("[data-status-badge]");
    if (badge && status.level) {
      badge.className = "badge badge-" + status.level;
      badge.textContent = status.label;
    }
    LEVELS.forEach(function (level) {
      card.classList.toggle("status-" + level, level === status.level);
    });
    text("[data-status-summary]", status.summary);
    Object.keys(data.reports || {}).forEach(function (key) {
      text('[data-count="' + key + '"]', data.reports[key]);
    });
    if (data.expected_now !== null && data.expected_now !== undefined) {
      text("[data-expected]", Number(data.expected_now).toFixed(1));
    }
    card.setAttribute("data-status-level", status.level || "ok");
  }

  function poll() {
    if (document.hidden) return;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) apply(data); })
      .catch(function () { /* offline or throttled: try again next time */ });
  }

  window.setInterval(poll, INTERVAL_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
