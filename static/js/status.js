// Keeps a page's live parts current without a reload. The page names its read in
// data-live-url; the answer carries every part rendered on the server from ONE read
// ({"etag", "regions": {name: html}, "cards": {slug: {level, html}}}), so the status,
// counters, charts, countries and history always change together. The page is complete
// without this script; it only swaps in newer server-rendered markup.
(function () {
  "use strict";
  var page = document.querySelector("[data-live-url]");
  if (!page || !window.fetch) return;
  var url = page.getAttribute("data-live-url");
  var INTERVAL_MS = 30000;
  var LEVELS = ["ok", "possible", "problems"];
  // What the page shows (a hash of its live parts): an answer with the same one changes
  // nothing, so an unchanged page is left alone (an open <details>, a selection...).
  var etag = page.getAttribute("data-live-etag") || null;
  var busy = false;

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  }

  function replaceRegion(name, html) {
    var old = document.querySelector('[data-live="' + name + '"]');
    if (!old) return;
    var next = fragment(html).firstElementChild;
    if (!next) return;
    // The region element stays (an aria-live region is announced only when its own
    // content changes); its attributes and content become the new ones.
    Array.prototype.slice.call(old.attributes).forEach(function (attr) {
      if (!next.hasAttribute(attr.name)) old.removeAttribute(attr.name);
    });
    Array.prototype.slice.call(next.attributes).forEach(function (attr) {
      old.setAttribute(attr.name, attr.value);
    });
    old.replaceChildren.apply(old, Array.prototype.slice.call(next.childNodes));
    localize(old);
  }

  function localize(root) {
    var ow = window.OutageWatch;
    if (ow && typeof ow.localizeTimes === "function") ow.localizeTimes(root);
  }

  function updateCard(card, data) {
    LEVELS.forEach(function (level) {
      card.classList.toggle("service-card-" + level, level === data.level);
    });
    var status = card.querySelector("[data-card-status]");
    if (status) status.replaceChildren(fragment(data.html));
  }

  function updateCards(cards) {
    document.querySelectorAll("[data-card]").forEach(function (card) {
      var data = cards[card.getAttribute("data-card")];
      if (data) {
        updateCard(card, data);
      } else if (!card.classList.contains("service-card-ok")) {
        // Absent from the answer: no reports in 24 hours and no problems now.
        updateCard(card, { level: "ok", html: "" });
      }
    });
  }

  // What the live parts say of the state (data-announce: "Acme: Problems detected"), read
  // after each update. Only a change of it is spoken (the live region below), not the
  // minute's new numbers: the whole status card used to be re-read every minute.
  var announcer = document.querySelector("[data-live-announce]");
  function announced() {
    return Array.prototype.map.call(document.querySelectorAll("[data-announce]"), function (el) {
      return el.getAttribute("data-announce");
    }).join(". ");
  }
  var said = announced();

  function apply(data) {
    if (data.etag && data.etag === etag) return;
    etag = data.etag || null;
    var regions = data.regions || {};
    Object.keys(regions).forEach(function (name) { replaceRegion(name, regions[name]); });
    if (data.cards) updateCards(data.cards);
    page.setAttribute("data-live-etag", etag || "");
    var now = announced();
    if (announcer && now !== said) announcer.textContent = now;
    said = now;
  }

  function poll() {
    if (document.hidden || busy) return;
    busy = true;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) apply(data); })
      .catch(function () { /* offline or throttled: try again next time */ })
      .then(function () { busy = false; });
  }

  window.setInterval(poll, INTERVAL_MS);
  // Coming back to the tab asks at once instead of waiting for the next interval.
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
