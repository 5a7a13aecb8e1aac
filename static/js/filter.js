// Filters the service list as the visitor types; the form still works without JS.
// Matches like the server (reports/search.py): accents and punctuation ignored, other names
// and category words (each card's data-search-terms), a typo or two in longer words.
// Enter with exactly one match opens it; no match says so instead of a blank page.
(function () {
  "use strict";
  var input = document.querySelector("[data-filter-services]");
  if (!input) return;
  var empty = document.querySelector("[data-filter-empty]");
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-service-name]"));
  var entries = items.map(function (item) {
    var terms = (item.getAttribute("data-search-terms") || item.getAttribute("data-service-name")).split("|");
    var words = [];
    terms.forEach(function (term) {
      words = words.concat(term.split(" "));
      words.push(term.replace(/ /g, ""));
    });
    return { item: item, terms: terms, words: words };
  });

  function normalize(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/&/g, " and ")
      .toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();
  }

  function typosAllowed(word) {
    if (word.length < 4) return 0;
    return word.length < 8 ? 1 : 2;
  }

  // Optimal string alignment distance, as reports.search.edit_distance.
  function distance(a, b, limit) {
    if (Math.abs(a.length - b.length) > limit) return limit + 1;
    var prev2 = [], prev = [], i, j;
    for (j = 0; j <= b.length; j++) prev.push(j);
    for (i = 1; i <= a.length; i++) {
      var cur = [i], low = i;
      for (j = 1; j <= b.length; j++) {
        var v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
        cur.push(v);
        low = Math.min(low, v);
      }
      if (low > limit) return limit + 1;
      prev2 = prev;
      prev = cur;
    }
    return prev[b.length];
  }

  function exact(entry, needle) {
    return entry.terms.some(function (term) { return term.indexOf(needle) !== -1; });
  }

  function fuzzy(entry, needle) {
    return needle.split(" ").every(function (word) {
      var allowed = typosAllowed(word);
      return entry.words.some(function (own) { return distance(word, own, allowed) <= allowed; });
    });
  }

  function visible() {
    return entries.filter(function (entry) { return !entry.item.hidden; });
  }

  function filter() {
    var needle = normalize(input.value);
    var shown = entries.filter(function (entry) { return !needle || exact(entry, needle); });
    // Typos only when nothing matches as typed, as on the server.
    if (needle && !shown.length) shown = entries.filter(function (entry) { return fuzzy(entry, needle); });
    entries.forEach(function (entry) { entry.item.hidden = shown.indexOf(entry) === -1; });
    document.querySelectorAll("[data-category]").forEach(function (section) {
      section.hidden = !section.querySelector("[data-service-name]:not([hidden])");
    });
    if (empty) {
      empty.hidden = shown.length > 0 || !needle;
      var echo = empty.querySelector("[data-filter-query]");
      if (echo) echo.textContent = input.value.trim();
    }
  }

  input.addEventListener("input", filter);
  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !input.value.trim()) return;
    var matches = visible();
    if (matches.length === 1) {
      event.preventDefault();
      window.location.assign(matches[0].item.querySelector("a").href);
    }
  });
  if (input.value.trim()) filter();
})();
