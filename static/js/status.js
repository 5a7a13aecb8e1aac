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
  // A changed one keeps what the reader was doing too (accessibility tester F1, WCAG 2.4.3):
  // keyboard focus moves to the same link in the new markup, and every <details> stays open
  // or closed as it was; a region whose markup did not change is not touched at all.
  var etag = page.getAttribute("data-live-etag") || null;
  var busy = false;
  var rendered = {}; // region name: the markup last swapped in

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  }

  function words(el) {
    return (el.textContent || "").replace(/\s+/g, " ").trim();
  }

  // What can hold keyboard focus inside a region, in document order.
  var FOCUSABLE = "a[href], area[href], button, input, select, textarea, summary, iframe, " +
    "[tabindex], [contenteditable=\"true\"]";
  function focusables(root) {
    return Array.prototype.slice.call(root.querySelectorAll(FOCUSABLE));
  }

  // The focused element of a region, described so that its equivalent can be found in the
  // region's new markup: its id, else its href and words, else its place among the region's
  // focusable elements.
  function focusKey(region, el) {
    if (el === region) return { region: true };
    var all = focusables(region);
    var href = el.getAttribute("href");
    var text = words(el);
    var sameHref = all.filter(function (other) {
      return other.tagName === el.tagName && other.getAttribute("href") === href;
    });
    var same = sameHref.filter(function (other) { return words(other) === text; });
    return {
      id: el.id,
      tag: el.tagName,
      href: href,
      text: text,
      nthSame: same.indexOf(el),
      nthHref: sameHref.indexOf(el),
      index: all.indexOf(el)
    };
  }

  function nth(list, n) {
    return list.length ? list[Math.max(0, Math.min(n, list.length - 1))] : null;
  }

  function equivalent(region, key) {
    if (key.region) return null;
    var all = focusables(region);
    var match = null;
    if (key.id) {
      match = all.filter(function (el) { return el.id === key.id; })[0] || null;
      if (match) return match;
    }
    var sameHref = all.filter(function (el) {
      return el.tagName === key.tag && el.getAttribute("href") === key.href;
    });
    match = nth(sameHref.filter(function (el) { return words(el) === key.text; }), key.nthSame);
    // The same link with other words (a board card whose state or time changed).
    if (!match && key.href !== null) match = nth(sameHref, key.nthHref);
    if (!match && key.index >= 0 && all[key.index] && all[key.index].tagName === key.tag) {
      match = all[key.index];
    }
    return match;
  }

  function refocus(region, key) {
    var target = equivalent(region, key);
    if (!target) {
      // Nothing like it any more: the region itself, never <body>, so the reader stays here.
      if (!region.hasAttribute("tabindex")) region.setAttribute("tabindex", "-1");
      target = region;
    }
    target.focus({ preventScroll: true });
  }

  // A <details> is known by its id, else by its summary's words (and which of them it is).
  function detailsKeys(root) {
    var seen = {};
    return Array.prototype.map.call(root.querySelectorAll("details"), function (details) {
      var summary = details.querySelector(":scope > summary");
      var key = details.id ? "#" + details.id : "summary:" + (summary ? words(summary) : "");
      seen[key] = (seen[key] || 0) + 1;
      return { details: details, key: key + "|" + seen[key] };
    });
  }

  function replaceRegion(name, html) {
    var old = document.querySelector('[data-live="' + name + '"]');
    if (!old) return;
    if (rendered[name] === html) return; // nothing new in it: focus and state untouched
    var next = fragment(html).firstElementChild;
    if (!next) return;
    rendered[name] = html;
    var focused = document.activeElement;
    var key = focused && focused !== document.body && old.contains(focused)
      ? focusKey(old, focused) : null;
    var open = {};
    detailsKeys(old).forEach(function (d) { open[d.key] = d.details.open; });
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
    detailsKeys(old).forEach(function (d) {
      if (Object.prototype.hasOwnProperty.call(open, d.key)) d.details.open = open[d.key];
    });
    if (key) refocus(old, key);
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

  // Pause, Stop, Hide (WCAG 2.2.2): the reader can stop the updates; while paused nothing is
  // asked and nothing swapped, and the choice holds for the tab's next pages (sessionStorage).
  var PAUSED_KEY = "outagewatch.live-paused";
  function storedPaused() {
    try { return window.sessionStorage.getItem(PAUSED_KEY) === "1"; } catch (e) { return false; }
  }
  function storePaused(value) {
    try {
      if (value) window.sessionStorage.setItem(PAUSED_KEY, "1");
      else window.sessionStorage.removeItem(PAUSED_KEY);
    } catch (e) { /* storage refused: the choice holds for this page only */ }
  }
  var paused = storedPaused();
  var asked = 0; // bumped by a pause: an answer asked for before it is dropped
  var again = false; // resumed while a dropped answer was still on its way: ask once more

  function poll() {
    if (paused || document.hidden || busy) return;
    busy = true;
    var mine = asked;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && !paused && mine === asked) apply(data); })
      .catch(function () { /* offline or throttled: try again next time */ })
      .then(function () {
        busy = false;
        if (again) { again = false; poll(); }
      });
  }

  // The toggle sits where the page says it changes by itself (beside the announcer), else
  // just before the first live part; without this script there is nothing to pause.
  function pauseControl() {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link-button";
    button.setAttribute("data-live-pause", "");
    // Its words say what it does next; no aria-pressed, which with a changing label reads
    // "Resume live updates, pressed" (a toggle's label must stay the same).
    function show() {
      button.textContent = paused ? "Resume live updates" : "Pause live updates";
    }
    show();
    button.addEventListener("click", function () {
      paused = !paused;
      storePaused(paused);
      show();
      if (paused) {
        asked += 1;
      } else if (busy) {
        again = true;
      } else {
        poll(); // resuming asks at once
      }
    });
    var holder = document.createElement("p");
    holder.className = "muted";
    holder.setAttribute("data-live-control", "");
    holder.appendChild(button);
    var first = document.querySelector("[data-live]");
    if (announcer) announcer.insertAdjacentElement("afterend", holder);
    else if (first) first.insertAdjacentElement("beforebegin", holder);
    else page.insertBefore(holder, page.firstChild);
  }
  pauseControl();

  window.setInterval(poll, INTERVAL_MS);
  // Coming back to the tab asks at once instead of waiting for the next interval.
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
