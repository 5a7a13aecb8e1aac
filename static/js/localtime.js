// Shows every <time datetime="...Z" data-local> of the page in the reader's time zone, with
// its UTC offset ("14:26 (UTC+1)"). The server writes the UTC time as the text, so the
// page reads correctly without this script. Content inserted later (the live refresh) is
// localized by calling window.OutageWatch.localizeTimes(root), which also relabels chart ticks.
(function () {
  "use strict";
  if (!window.Intl || !Intl.DateTimeFormat) return;

  var clock = new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  var day = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short" });
  var fullDay = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric" });
  var dayKey = new Intl.DateTimeFormat("en-CA", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });

  // "UTC", "UTC+1", "UTC-5", "UTC+5:30": the offset of the reader's zone at that instant
  // (it changes with daylight saving time, so it is computed per date).
  function offset(date) {
    var minutes = -date.getTimezoneOffset();
    if (minutes === 0) return "UTC";
    var sign = minutes > 0 ? "+" : "-";
    var abs = Math.abs(minutes);
    var hours = Math.floor(abs / 60);
    var rest = abs % 60;
    return "UTC" + sign + hours + (rest ? ":" + (rest < 10 ? "0" : "") + rest : "");
  }

  // The year only when it is not this year's ("29 Oct 2025, 18:47"): an outage list is a
  // permanent record, and without it last October's rows read like this October's.
  function format(date, mode, now) {
    var withDate = mode === "yes" || (mode === "auto" && dayKey.format(date) !== dayKey.format(now));
    var text = clock.format(date);
    if (withDate && date.getFullYear() !== now.getFullYear()) {
      text = fullDay.format(date) + ", " + text;
    } else if (withDate) {
      text = day.format(date) + " " + text;
    }
    var zone = offset(date);
    return zone === "UTC" ? text + " UTC" : text + " (" + zone + ")";
  }

  function localizeTimes(root) {
    var scope = root || document;
    var now = new Date();
    var nodes = scope.querySelectorAll ? scope.querySelectorAll("time[datetime][data-local]") : [];
    var list = Array.prototype.slice.call(nodes);
    if (scope.matches && scope.matches("time[datetime][data-local]")) list.push(scope);
    list.forEach(function (node) {
      var date = new Date(node.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      if (!node.hasAttribute("title")) node.setAttribute("title", node.textContent.trim());
      node.textContent = format(date, node.getAttribute("data-local"), now);
    });
  }

  // Chart ticks (SVG text, so no <time>) and the "Times in ..." notes beside the charts.
  function localizeCharts(root) {
    var scope = root || document;
    if (!scope.querySelectorAll) return;
    scope.querySelectorAll("text[data-tick]").forEach(function (node) {
      var date = new Date(node.getAttribute("data-tick"));
      if (isNaN(date.getTime())) return;
      node.textContent =
        node.getAttribute("data-tick-format") === "day" ? day.format(date) : clock.format(date);
    });
    var zone = offset(new Date());
    scope.querySelectorAll("[data-local-zone]").forEach(function (node) {
      node.textContent = zone === "UTC" ? "UTC" : "your time zone (" + zone + ")";
    });
  }

  // Sign-up forms send the browser's zone, so alert emails show times the way the reader
  // lives them (alerts: Subscription.timezone).
  function fillTimeZones(root) {
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {
      return;
    }
    if (!zone) return;
    (root || document).querySelectorAll("input[data-browser-timezone]").forEach(function (input) {
      if (!input.value) input.value = zone;
    });
  }

  // A page whose title holds a date (the outage page's "on 27 Nov 2026") names it in a
  // <meta name="outagewatch:title-date">: the reader's own date replaces UTC's.
  function localizeTitle() {
    var meta = document.querySelector('meta[name="outagewatch:title-date"]');
    if (!meta) return;
    var date = new Date(meta.getAttribute("content"));
    var utc = meta.getAttribute("data-text");
    if (isNaN(date.getTime()) || !utc) return;
    document.title = document.title.replace(utc, fullDay.format(date));
  }

  window.OutageWatch = window.OutageWatch || {};
  function localize(root) {
    localizeTimes(root);
    localizeCharts(root);
  }

  window.OutageWatch.localizeTimes = localize;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      localize(document);
      localizeTitle();
      fillTimeZones(document);
    });
  } else {
    localize(document);
    localizeTitle();
    fillTimeZones(document);
  }
})();
