// The report form's region list follows the chosen country (reports/views_geo.py answers
// with the country's ISO 3166-2 regions), from the page's load on. Without JS there is no
// list (the server cannot know which country will be chosen), and the field takes a name.
(function () {
  "use strict";
  var list = document.getElementById("report-regions");
  var form = list && list.closest("form");
  var country = form && form.querySelector("[name=country]");
  if (!country) return;
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
