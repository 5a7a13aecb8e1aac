// Filters the service list as the visitor types; the form still works without JS.
(function () {
  "use strict";
  var input = document.querySelector("[data-filter-services]");
  if (!input) return;
  input.addEventListener("input", function () {
    var needle = input.value.trim().toLowerCase();
    document.querySelectorAll("[data-category]").forEach(function (section) {
      var shown = 0;
      section.querySelectorAll("[data-service-name]").forEach(function (item) {
        var match = !needle || item.getAttribute("data-service-name").indexOf(needle) !== -1;
        item.hidden = !match;
        if (match) shown += 1;
      });
      section.hidden = shown === 0;
    });
  });
})();
