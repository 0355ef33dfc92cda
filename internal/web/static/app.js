// Progressive enhancement only: every page works without JavaScript.
// The CSP allows no inline script, so all behaviour lives here.
(function () {
  "use strict";

  // Ask before a form marked data-confirm (delete) is submitted.
  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });

  // "Copy link" buttons are hidden in the HTML and shown here, since they
  // need script. They copy the absolute URL of data-copy (a path).
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // http://go/ is not a secure context: fall back to a selected textarea.
    return new Promise(function (resolve, reject) {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.className = "offscreen";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(ta);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    var label = btn.textContent;
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var url = new URL(btn.getAttribute("data-copy"), window.location.href).href;
      copyText(url).then(function () {
        btn.textContent = "Copied";
      }, function () {
        window.prompt("Copy this link:", url);
      }).then(function () {
        window.setTimeout(function () { btn.textContent = label; }, 1600);
      });
    });
  });

  // "/" focuses the search box, as on many sites, unless the user is typing.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var q = document.querySelector(".top .search input");
    if (q) { ev.preventDefault(); q.focus(); q.select(); }
  });
  // The edit form's "leave an alias under the old name" matters only for a
  // rename: shown (it always is without script) once the name differs.
  var keep = document.querySelector("[data-rename-of]");
  var nameInput = document.getElementById("f-name");
  if (keep && nameInput) {
    var norm = function (s) { return s.trim().toLowerCase().replace(/-/g, ""); };
    var sync = function () { keep.hidden = norm(nameInput.value) === norm(keep.getAttribute("data-rename-of")); };
    nameInput.addEventListener("input", sync);
    sync();
  }
})();
