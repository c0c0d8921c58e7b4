// kvmaudit fleet page: filter the host table by text, staleness, failing status and label, and
// group its rows by a label, CPU, kernel or profile. The state lives in the URL fragment
// (#only=failing&label=site%3Dfra1&group=label:rack&q=hv0), as on the host report's page, so
// a filtered view can be shared and a reload keeps it. Reads the DOM only (data-* attributes
// and textContent) and never writes HTML: group headings and fragment values stay text.
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

  // Select a value a fragment names even when no option has it (a label pair beyond the
  // options' cap, a label key of another roll-up): as a new option, its text only.
  function selectValue(sel, v) {
    if (!sel) { return; }
    var has = Array.prototype.some.call(sel.options, function (o) { return o.value === v; });
    if (!has) {
      var o = document.createElement("option");
      o.value = v;
      o.textContent = v;
      sel.appendChild(o);
    }
    sel.value = v;
  }

  // `fleet --group-by`'s choice, when the page offers it (a key no host has is no choice).
  var groupDefault = group.dataset.default || "";
  if (!Array.prototype.some.call(group.options, function (o) { return o.value === groupDefault; })) {
    groupDefault = "";
  }
  // The state in canonical fragment form; the page's opening view is the empty one.
  function fragment() {
    var parts = [];
    if (only.value) { parts.push("only=" + encodeURIComponent(only.value)); }
    if (label && label.value) { parts.push("label=" + encodeURIComponent(label.value)); }
    if (group.value !== groupDefault) { parts.push("group=" + (group.value ? encodeURIComponent(group.value) : "none")); }
    var q = text.value.trim();
    if (q) { parts.push("q=" + encodeURIComponent(q)); }
    return parts.join("&");
  }

  function readFragment() {
    var state = { only: "", label: "", group: groupDefault, q: "" };
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      if (!kv) { return; }
      var i = kv.indexOf("=");
      var k = i < 0 ? kv : kv.slice(0, i);
      var v = i < 0 ? "" : kv.slice(i + 1);
      try { v = decodeURIComponent(v.replace(/\+/g, " ")); } catch (e) { return; }
      if (k === "only") {
        // Only the choices the page offers: anything else shows all hosts.
        state.only = Array.prototype.some.call(only.options, function (o) { return o.value === v; }) ? v : "";
      } else if (k === "group") {
        state.group = v === "none" ? "" : v;
      } else if (k === "label" || k === "q") {
        state[k] = v;
      }
    });
    only.value = state.only;
    if (state.label) { selectValue(label, state.label); } else if (label) { label.value = ""; }
    if (state.group) { selectValue(group, state.group); } else { group.value = ""; }
    text.value = state.q;
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
    var f = fragment();
    // The state as an attribute too: what a printed page and a test can read.
    form.setAttribute("data-state", f);
    var url = location.href.replace(/#.*$/, "") + (f ? "#" + f : "");
    if (location.href !== url && history.replaceState) {
      try { history.replaceState(null, "", f ? "#" + f : location.pathname + location.search); } catch (e) { /* file:// in some browsers */ }
    }
  }
  text.addEventListener("input", apply);
  only.addEventListener("change", apply);
  if (label) { label.addEventListener("change", apply); }
  group.addEventListener("change", function () { regroup(); apply(); });
  window.addEventListener("hashchange", function () { readFragment(); regroup(); apply(); });
  // The page opens as its fragment says, else grouped as `fleet --group-by` asked.
  readFragment();
  regroup();
  apply();
})();
