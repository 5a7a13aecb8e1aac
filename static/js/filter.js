// Filters the service list as the visitor types; the form still works without JS.
// Matches like the server (reports/search.py): accents and punctuation ignored, other names
// and category words (each card's data-search-terms), spaces inside a name ("chat gpt"), the
// website (data-search-website, whole only), filler words at the ends ("is chatgpt down"),
// a typo or two in longer words; the best match is moved first, as the server lists it.
// Enter with exactly one match opens it; no match says so instead of a blank page.
(function () {
  "use strict";
  var input = document.querySelector("[data-filter-services]");
  if (!input) return;
  var empty = document.querySelector("[data-filter-empty]");
  var count = document.querySelector("[data-filter-count]");
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-service-name]"));
  var entries = items.map(function (item) {
    var terms = (item.getAttribute("data-search-terms") || item.getAttribute("data-service-name")).split("|");
    var words = [];
    terms.forEach(function (term) {
      words = words.concat(term.split(" "));
      words.push(term.replace(/ /g, ""));
    });
    var squeezed = terms.map(function (term) { return term.replace(/ /g, ""); });
    var website = item.getAttribute("data-search-website") || "";
    return { item: item, terms: terms, squeezed: squeezed, website: website, words: words };
  });
  // The page's own order, restored when the box is emptied.
  var sections = Array.prototype.slice.call(document.querySelectorAll("[data-category]"));
  entries.forEach(function (entry, i) { entry.order = i; });
  sections.forEach(function (section, i) { section.order = i; });

  // As reports.search: words that ask whether a service works, taken off the ends only.
  var FILLER_BEFORE = ["is", "are", "why", "the", "can", "t", "cant", "i", "it", "just", "me",
    "https", "http", "www"];
  var FILLER_AFTER = ["is", "are", "down", "not", "working", "work", "broken", "status", "outage",
    "outages", "problem", "problems", "issues", "today", "right", "now", "again", "for", "me",
    "everyone", "doesn", "t", "isn", "it", "or", "just"];

  function withoutFiller(needle) {
    var words = needle.split(" ");
    while (words.length > 1 && FILLER_BEFORE.indexOf(words[0]) !== -1) words.shift();
    while (words.length > 1 && FILLER_AFTER.indexOf(words[words.length - 1]) !== -1) words.pop();
    return words.join(" ");
  }

  // As reports.search.normalize: case-folded (the two folds lower case lacks), no marks,
  // letters and digits of any script.
  function normalize(text) {
    return text.replace(/&/g, " and ").toLowerCase().replace(/ß/g, "ss").replace(/ς/g, "σ")
      .normalize("NFKD").replace(/\p{M}/gu, "").replace(/[^\p{L}\p{N}]+/gu, " ").trim();
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

  // As reports.search._score: 0 a whole name, alias or website, 1 the start of one, 2 inside
  // one; -1 no match as typed.
  function score(entry, needle) {
    var squeezed = needle.replace(/ /g, "");
    if (entry.terms.indexOf(needle) !== -1 || entry.squeezed.indexOf(squeezed) !== -1 ||
        needle === entry.website) return 0;
    if (entry.squeezed.some(function (term) { return term.indexOf(squeezed) === 0; })) return 1;
    if (entry.terms.some(function (term) { return term.indexOf(needle) !== -1; })) return 2;
    if (squeezed !== needle &&
        entry.squeezed.some(function (term) { return term.indexOf(squeezed) !== -1; })) return 2;
    return -1;
  }

  // [{entry, score}] of the entries matching one needle as typed.
  function matching(needle) {
    return entries.map(function (entry) { return { entry: entry, score: score(entry, needle) }; })
      .filter(function (hit) { return hit.score >= 0; });
  }

  function best(hits) {
    return hits.reduce(function (low, hit) { return Math.min(low, hit.score); }, 99);
  }

  // The best match first: cards by score (then the page's order), categories by their best.
  function arrange(rank) {
    var key = function (entry) { return rank.has(entry) ? rank.get(entry) : 99; };
    sections.forEach(function (section) {
      var cards = entries.filter(function (entry) { return section.contains(entry.item); });
      cards.sort(function (a, b) { return key(a) - key(b) || a.order - b.order; });
      section.best = cards.length ? key(cards[0]) : 99;
      cards.forEach(function (entry) { entry.item.parentNode.appendChild(entry.item); });
    });
    sections.slice().sort(function (a, b) { return a.best - b.best || a.order - b.order; })
      .forEach(function (section) { section.parentNode.appendChild(section); });
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
    var typed = input.value.trim();
    var needle = normalize(input.value);
    var rank = new Map();
    // Only emoji or punctuation: nothing a name can match (as the server answers it).
    var shown = typed && !needle ? [] : entries;
    if (needle) {
      var hits = matching(needle);
      var shorter = withoutFiller(needle);
      if (shorter !== needle) {
        // The query as typed wins unless the filler-free one matches better.
        var other = matching(shorter);
        if (other.length && (!hits.length || best(other) < best(hits))) {
          hits = other;
          needle = shorter;
        }
      }
      hits.forEach(function (hit) { rank.set(hit.entry, hit.score); });
      shown = hits.map(function (hit) { return hit.entry; });
      // Typos only when nothing matches as typed, as on the server.
      [needle, shorter].some(function (words) {
        if (!shown.length) shown = entries.filter(function (entry) { return fuzzy(entry, words); });
        return shown.length > 0;
      });
    }
    entries.forEach(function (entry) { entry.item.hidden = shown.indexOf(entry) === -1; });
    arrange(rank);
    document.querySelectorAll("[data-category]").forEach(function (section) {
      section.hidden = !section.querySelector("[data-service-name]:not([hidden])");
    });
    if (count) {
      // No match is said by the paragraph below; an emptied box, by nothing.
      count.textContent = typed && shown.length
        ? shown.length + (shown.length === 1 ? " service matches" : " services match")
        : "";
    }
    if (empty) {
      empty.hidden = shown.length > 0 || !typed;
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
