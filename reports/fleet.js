// kvmaudit fleet page: filter the host table by text, staleness and failing status. Reads the
// DOM only (data-* attributes and textContent) and never writes HTML.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  form.hidden = false;
  var text = document.getElementById("f-text");
  var only = document.getElementById("f-only");
  var shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.host"));
  rows.forEach(function (r) { r.searchText = r.textContent.toLowerCase(); });

  function apply() {
    var q = text.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var o = only.value, n = 0;
    rows.forEach(function (r) {
      var ok = true;
      if (o === "stale" && r.dataset.stale !== "true") { ok = false; }
      if (o === "failing" && r.dataset.fail === "0") { ok = false; }
      if (o === "blockers" && r.dataset.blockers === "0") { ok = false; }
      for (var i = 0; ok && i < q.length; i++) {
        if (r.searchText.indexOf(q[i]) < 0) { ok = false; }
      }
      r.classList.toggle("hidden", !ok);
      if (ok) { n++; }
    });
    shown.textContent = n + " of " + rows.length + " hosts shown";
  }
  text.addEventListener("input", apply);
  only.addEventListener("change", apply);
  apply();
})();
