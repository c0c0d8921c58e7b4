// kvmaudit report filters: status, severity, scope and free text. Reads the DOM only (data-*
// attributes and textContent) and never writes HTML: host data stays text.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  form.hidden = false;
  var status = document.getElementById("f-status");
  var severity = document.getElementById("f-severity");
  var scope = document.getElementById("f-scope");
  var text = document.getElementById("f-text");
  var shown = document.getElementById("shown");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.finding"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.guide"));
  var attention = { fail: true, warn: true, unknown: true };
  rows.forEach(function (r) { r.searchText = r.textContent.toLowerCase(); });

  function matches(r) {
    var s = status.value, v = severity.value, c = scope.value;
    var q = text.value.trim().toLowerCase();
    if (s === "attention" ? !attention[r.dataset.status] : (s && r.dataset.status !== s)) { return false; }
    if (v && r.dataset.severity !== v) { return false; }
    if (c && r.dataset.scope !== c) { return false; }
    if (q) {
      var words = q.split(/\s+/);
      for (var i = 0; i < words.length; i++) {
        if (r.searchText.indexOf(words[i]) < 0) { return false; }
      }
    }
    return true;
  }

  function apply() {
    var n = 0;
    rows.forEach(function (r) {
      var ok = matches(r);
      r.classList.toggle("hidden", !ok);
      if (ok) { n++; }
    });
    sections.forEach(function (s) {
      s.classList.toggle("hidden", !s.querySelector("tr.finding:not(.hidden)"));
    });
    shown.textContent = n + " of " + rows.length + " findings shown";
  }

  [status, severity, scope].forEach(function (e) { e.addEventListener("change", apply); });
  text.addEventListener("input", apply);
  Array.prototype.forEach.call(document.querySelectorAll("button[data-target]"), function (b) {
    b.addEventListener("click", function () {
      text.value = b.dataset.target;
      status.value = "";
      apply();
      form.scrollIntoView();
    });
  });
  apply();
})();
