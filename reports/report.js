// kvmaudit report filters: status, severity, scope, VM and free text. The page opens on what
// needs attention (fail, warn, unknown, blockers); the state lives in the URL fragment
// (#status=fail,warn&q=numa&vm=web*) so a filtered view can be shared and a reload restores it.
// Reads the DOM only (data-* attributes and textContent) and never writes HTML: host data and
// fragment values stay text.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  form.hidden = false;
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=status]"));
  var severity = document.getElementById("f-severity");
  var scope = document.getElementById("f-scope");
  var vm = document.getElementById("f-vm");
  var text = document.getElementById("f-text");
  var shown = document.getElementById("shown");
  var note = document.getElementById("view-note");
  var share = document.getElementById("share");
  var vAttention = document.getElementById("v-attention");
  var vAll = document.getElementById("v-all");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.finding"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.guide"));
  var ATTENTION = ["fail", "warn", "unknown"];
  var ALL = boxes.map(function (b) { return b.value; });
  rows.forEach(function (r) { r.searchText = r.textContent.toLowerCase(); });

  function checked() {
    return boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
  }
  function sameSet(a, b) {
    return a.length === b.length && a.every(function (x) { return b.indexOf(x) >= 0; });
  }
  function setStatuses(list) {
    boxes.forEach(function (b) { b.checked = list.indexOf(b.value) >= 0; });
  }
  // A VM glob as the terminal's --vm takes it: * and ? only, everything else literal.
  function globRegExp(g) {
    var re = g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
    return new RegExp("^" + re + "$");
  }
  // Select a value a fragment names even when no option has it (a glob): as a new option.
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

  // The state in canonical fragment form; the default view (needs attention) is the empty one.
  function fragment() {
    var parts = [];
    var st = checked();
    if (sameSet(st, ALL)) { parts.push("status=all"); }
    else if (!sameSet(st, ATTENTION)) { parts.push("status=" + st.map(encodeURIComponent).join(",")); }
    if (severity.value) { parts.push("severity=" + encodeURIComponent(severity.value)); }
    if (scope.value) { parts.push("scope=" + encodeURIComponent(scope.value)); }
    if (vm && vm.value) { parts.push("vm=" + encodeURIComponent(vm.value)); }
    var q = text.value.trim();
    if (q) { parts.push("q=" + encodeURIComponent(q)); }
    return parts.join("&");
  }

  function readFragment() {
    var h = location.hash.replace(/^#/, "");
    var state = { status: ATTENTION, severity: "", scope: "", vm: "", q: "" };
    h.split("&").forEach(function (kv) {
      if (!kv) { return; }
      var i = kv.indexOf("=");
      var k = i < 0 ? kv : kv.slice(0, i);
      var v = i < 0 ? "" : kv.slice(i + 1);
      try { v = decodeURIComponent(v.replace(/\+/g, " ")); } catch (e) { return; }
      if (k === "status") {
        state.status = v === "all" ? ALL
          : v === "attention" || v === "" ? ATTENTION
          : v.split(",").filter(function (s) { return ALL.indexOf(s) >= 0; });
      } else if (k === "severity" || k === "scope" || k === "vm" || k === "q") {
        state[k] = v;
      }
    });
    setStatuses(state.status);
    selectValue(severity, state.severity);
    selectValue(scope, state.scope);
    selectValue(vm, state.vm);
    text.value = state.q;
  }

  function matches(r, st, attention, vmRe, words) {
    var s = r.dataset.status;
    if (st.indexOf(s) < 0 && !(attention && r.dataset.blocker === "true")) { return false; }
    if (severity.value && r.dataset.severity !== severity.value) { return false; }
    if (scope.value && r.dataset.scope !== scope.value) { return false; }
    if (vmRe && !(r.dataset.vm && vmRe.test(r.dataset.vm))) { return false; }
    for (var i = 0; i < words.length; i++) {
      if (r.searchText.indexOf(words[i]) < 0) { return false; }
    }
    return true;
  }

  function apply() {
    var st = checked();
    var attention = sameSet(st, ATTENTION);
    var vmRe = vm && vm.value ? globRegExp(vm.value) : null;
    var words = text.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var n = 0;
    rows.forEach(function (r) {
      var ok = matches(r, st, attention, vmRe, words);
      r.classList.toggle("hidden", !ok);
      if (ok) { n++; }
    });
    sections.forEach(function (s) {
      s.classList.toggle("hidden", !s.querySelector("tr.finding:not(.hidden)"));
    });
    shown.textContent = n + " of " + rows.length + " findings shown";
    vAttention.setAttribute("aria-pressed", String(attention));
    vAll.setAttribute("aria-pressed", String(sameSet(st, ALL)));
    var f = fragment();
    // The state as an attribute too: what a printed page and a test can read.
    form.setAttribute("data-state", f);
    note.textContent = "Showing " + n + " of " + rows.length + " findings: " +
      (attention ? "needs attention (fail, warn, unknown, blockers)" : "status " + st.join(", ")) +
      (severity.value ? "; severity " + severity.value : "") +
      (scope.value ? "; scope " + scope.value : "") +
      (vm && vm.value ? "; VM " + vm.value : "") +
      (text.value.trim() ? "; search \u201c" + text.value.trim() + "\u201d" : "") + ".";
    var url = location.href.replace(/#.*$/, "") + (f ? "#" + f : "");
    share.setAttribute("href", f ? "#" + f : "#");
    if (location.href !== url && history.replaceState) {
      try { history.replaceState(null, "", f ? "#" + f : location.pathname + location.search); } catch (e) { /* file:// in some browsers */ }
    }
  }

  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  [severity, scope, vm].forEach(function (e) { if (e) { e.addEventListener("change", apply); } });
  text.addEventListener("input", apply);
  vAttention.addEventListener("click", function () { setStatuses(ATTENTION); apply(); });
  vAll.addEventListener("click", function () { setStatuses(ALL); apply(); });
  Array.prototype.forEach.call(document.querySelectorAll("button[data-vm]"), function (b) {
    b.addEventListener("click", function () {
      selectValue(vm, b.dataset.vm);
      setStatuses(ALL);
      apply();
      form.scrollIntoView();
    });
  });
  window.addEventListener("hashchange", function () { readFragment(); apply(); });
  readFragment();
  apply();
})();
