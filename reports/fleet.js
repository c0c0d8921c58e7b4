// kvmaudit fleet page: filter the host table by text, staleness, failing status and label, and
// group its rows by a label, CPU, kernel or profile. Reads the DOM only (data-* attributes and
// textContent) and never writes HTML: group headings are built with textContent.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  form.hidden = false;
  var text = document.getElementById("f-text");
  var only = document.getElementById("f-only");
  var label = document.getElementById("f-label");
  var group = document.getElementById("f-group");
  var shown = document.getElementById("shown");
  var tbody = document.querySelector("#hosts tbody");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.host"));
  var columns = document.querySelectorAll("#hosts thead th").length;
  rows.forEach(function (r, i) {
    r.searchText = (r.textContent + " " + r.dataset.labels).toLowerCase();
    r.labelList = r.dataset.labels ? r.dataset.labels.split("\n") : [];
    r.order = i;
  });

  // The row's group for the key chosen: a label's value, or the CPU, kernel or profile.
  function groupOf(r, key) {
    if (key.indexOf("label:") === 0) {
      var prefix = key.slice(6) + "=";
      for (var i = 0; i < r.labelList.length; i++) {
        if (r.labelList[i].indexOf(prefix) === 0) { return r.labelList[i].slice(prefix.length); }
      }
      return null;
    }
    return r.dataset[key] || null;
  }

  function regroup() {
    Array.prototype.forEach.call(tbody.querySelectorAll("tr.group-head"), function (h) { h.remove(); });
    var key = group.value;
    var sorted = rows.slice();
    if (key) {
      // Stable: within a group the rows keep their order (worst score first).
      sorted.sort(function (a, b) {
        var ga = groupOf(a, key), gb = groupOf(b, key);
        if (ga !== gb) {
          if (ga === null) { return 1; }
          if (gb === null) { return -1; }
          return ga < gb ? -1 : 1;
        }
        return a.order - b.order;
      });
    }
    var last;
    sorted.forEach(function (r) {
      if (key) {
        var g = groupOf(r, key);
        if (g !== last) {
          var head = document.createElement("tr");
          head.className = "group-head";
          var cell = document.createElement("td");
          cell.colSpan = columns;
          cell.textContent = g === null ? "(no " + key.replace(/^label:/, "") + ")" : key.replace(/^label:/, "") + " = " + g;
          head.appendChild(cell);
          head.groupName = g;
          tbody.appendChild(head);
          last = g;
        }
      }
      tbody.appendChild(r);
    });
  }

  function apply() {
    var q = text.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var o = only.value, l = label ? label.value : "", n = 0;
    var visible = {};
    rows.forEach(function (r) {
      var ok = true;
      if (o === "stale" && r.dataset.stale !== "true") { ok = false; }
      if (o === "failing" && r.dataset.fail === "0") { ok = false; }
      if (o === "blockers" && r.dataset.blockers === "0") { ok = false; }
      if (l && r.labelList.indexOf(l) < 0) { ok = false; }
      for (var i = 0; ok && i < q.length; i++) {
        if (r.searchText.indexOf(q[i]) < 0) { ok = false; }
      }
      r.classList.toggle("hidden", !ok);
      if (ok) {
        n++;
        if (group.value) { visible[String(groupOf(r, group.value))] = (visible[String(groupOf(r, group.value))] || 0) + 1; }
      }
    });
    // A group heading shows how many of its hosts the filters leave, and hides with none.
    Array.prototype.forEach.call(tbody.querySelectorAll("tr.group-head"), function (h) {
      var k = String(h.groupName), c = visible[k] || 0;
      h.classList.toggle("hidden", c === 0);
      h.firstChild.textContent = h.firstChild.textContent.replace(/ \(\d+ hosts?\)$/, "") + " (" + c + (c === 1 ? " host)" : " hosts)");
    });
    shown.textContent = n + " of " + rows.length + " hosts shown";
  }
  text.addEventListener("input", apply);
  only.addEventListener("change", apply);
  if (label) { label.addEventListener("change", apply); }
  group.addEventListener("change", function () { regroup(); apply(); });
  // The page opens grouped as `fleet --group-by` asked.
  var d = group.dataset.default;
  if (d && Array.prototype.some.call(group.options, function (o) { return o.value === d; })) {
    group.value = d;
    regroup();
  }
  apply();
})();
