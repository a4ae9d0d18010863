// Session page: send each step's form with fetch() and swap in the updated part (no reload).
"use strict";
(function () {
  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var next = doc.getElementById("session-live");
    var live = document.getElementById("session-live");
    if (next && live) { live.replaceWith(next); bind(); }
  }
  function submit(event) {
    var form = event.target;
    if (!form.hasAttribute("data-partial")) { return; }
    event.preventDefault();
    var data = new FormData(form);
    var token = data.get("csrf_token") || "";
    document.body.classList.add("busy");
    fetch(form.action, {
      method: "POST", body: new URLSearchParams(data), credentials: "same-origin",
      headers: { "x-csrf-token": token }
    }).then(function (r) { return r.text(); })
      .then(swap)
      .catch(function () { form.submit(); })
      .finally(function () { document.body.classList.remove("busy"); document.body.setAttribute("data-updated", String(Date.now())); });
  }
  function bind() {
    var live = document.getElementById("session-live");
    if (live && !live.hasAttribute("data-bound")) {
      live.setAttribute("data-bound", "1");
      live.addEventListener("submit", submit);
    }
  }
  document.addEventListener("DOMContentLoaded", bind);
})();
