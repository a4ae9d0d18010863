// Nav badges: fill <span class="badge" data-badge="KEY"> from /home/badges.json every 30 s and
// whenever the tab becomes visible again (no reload, no inline script). The badge text is read
// as part of the link ("Alerts 3 open"); a zero count hides the badge.
"use strict";
(function () {
  var badges = document.querySelectorAll("span.badge[data-badge]");
  if (!badges.length) { return; }
  var SRC = "/home/badges.json";
  var EVERY_MS = 30000;
  var timer = null;
  function fill(data) {
    badges.forEach(function (el) {
      var item = data[el.getAttribute("data-badge")];
      if (!item) { return; }
      el.textContent = item.text;
      el.setAttribute("data-count", String(item.count));
      el.hidden = item.count === 0;
    });
  }
  function poll() {
    fetch(SRC, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { fill(data); } })
      .catch(function () { /* offline: keep the last counts */ });
  }
  function start() {
    if (timer === null) { timer = window.setInterval(poll, EVERY_MS); }
  }
  function stop() {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { poll(); start(); } else { stop(); }
  });
  poll();
  start();
})();
