// The report form's region list follows the chosen country (reports/views_geo.py answers
// with the country's ISO 3166-2 regions), from the page's load on. Without JS there is no
// list (the server cannot know which country will be chosen), and the field takes a name.
(function () {
  "use strict";
  var list = document.getElementById("report-regions");
  var form = list && list.closest("form");
  var country = form && form.querySelector("[name=country]");
  if (!country) return;
  // The field to correct first carries autofocus (as on the subscribe form), but a browser
  // skips autofocus when the address names a target, and moves focus to that target once the
  // page has loaded (the form posts to #report, so that a "too fast" note is in view): focus
  // the field after that, unless the reader has gone elsewhere meanwhile (pages tester F6).
  var first = form.querySelector("[autofocus]");
  if (first) {
    window.addEventListener("load", function () {
      var active = document.activeElement;
      if (!active || active === document.body) first.focus();
    });
  }
  var url = list.getAttribute("data-regions-url");
  function fill() {
    var code = country.value;
    list.textContent = "";
    if (!/^[A-Z]{2}$/.test(code)) return;
    fetch(url.replace("XX", code), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { regions: [] }; })
      .then(function (data) {
        if (country.value !== code) return; // changed again meanwhile
        data.regions.forEach(function (region) {
          var option = document.createElement("option");
          option.value = region.name;
          option.textContent = region.code;
          list.appendChild(option);
        });
      })
      .catch(function () { /* the field still takes a typed name or code */ });
  }
  country.addEventListener("change", fill);
  fill();
})();

// The comment's limit as the server counts it: characters (code points) after trimming, a
// line break as one. A browser's maxlength counts UTF-16 units, so an emoji counted twice and
// the box stopped at 140 emoji of the 280 the server takes (text tester, forty-sixth
// session). Without JS maxlength stays: it only ever stops short of the server's limit.
(function () {
  "use strict";
  var box = document.getElementById("id_comment");
  var limit = box && parseInt(box.getAttribute("maxlength"), 10);
  if (!limit) return;
  box.removeAttribute("maxlength");
  var left = document.getElementById("id_comment_left");
  function update() {
    var n = Array.from(box.value.replace(/\r\n?/g, "\n").trim()).length;
    // The server's own words, so the browser's refusal and the form's agree.
    box.setCustomValidity(
      n > limit ? "Comments can be up to " + limit + " characters; yours has " + n + "." : ""
    );
    if (left) left.textContent = n > limit ? " (" + (n - limit) + " too many)" : " (" + (limit - n) + " left)";
  }
  box.addEventListener("input", update);
  update();
})();
