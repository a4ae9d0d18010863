// Session page: send each step's form with fetch() and swap in the updated part (no reload).
// A failed save (error status, no connection, expired login) says so and keeps the typed
// values; an expired login keeps them in sessionStorage until the page is back after login.
// Every submission carries an Idempotency-Key (the same one when the same values are sent
// again after a failure), so a retry never stores a reading twice. The time-dependent parts
// (reminders, discharge countdown) refresh periodically; that refresh keeps the login alive
// only while the page has had input recently.
"use strict";
(function () {
  var STORE = "kc-unsent:" + location.pathname;
  var lastInput = 0;

  function live() { return document.getElementById("session-live"); }

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function fields(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token" || el.type === "hidden" || el.type === "submit") { return; }
      out[el.name] = (el.type === "checkbox") ? (el.checked ? "on" : "") : el.value;
    });
    return out;
  }

  function fill(form, values) {
    Object.keys(values).forEach(function (name) {
      var el = form.elements.namedItem(name);
      if (!el || el.type === "hidden") { return; }
      if (el.type === "checkbox") { el.checked = values[name] === "on"; } else { el.value = values[name]; }
    });
  }

  function clearNotice(form) {
    var old = form.querySelector(".swap-error");
    if (old) { old.remove(); }
  }

  function notice(form, text, loginHref) {
    clearNotice(form);
    var box = document.createElement("div");
    box.className = "errors swap-error";
    box.setAttribute("role", "alert");
    box.id = "swap-error-" + form.id;
    box.appendChild(document.createTextNode(text));
    if (loginHref) {
      var a = document.createElement("a");
      a.href = loginHref;
      a.className = "relogin";
      a.textContent = "Log in again (your typed values are kept)";
      box.appendChild(document.createTextNode(" "));
      box.appendChild(a);
    }
    form.insertBefore(box, form.firstChild);
    if (box.scrollIntoView) { box.scrollIntoView({ block: "nearest" }); }
  }

  function loginHref() { return "/login?next=" + encodeURIComponent(location.pathname); }

  function keepUnsent(form) {
    var saved = {};
    try { saved = JSON.parse(sessionStorage.getItem(STORE) || "{}"); } catch (e) { saved = {}; }
    saved[form.id] = fields(form);
    try { sessionStorage.setItem(STORE, JSON.stringify(saved)); } catch (e) { /* storage full or off */ }
  }

  function restoreUnsent() {
    var raw = null;
    try { raw = sessionStorage.getItem(STORE); } catch (e) { return; }
    if (!raw) { return; }
    var saved = {};
    try { saved = JSON.parse(raw); } catch (e) { saved = {}; }
    Object.keys(saved).forEach(function (id) {
      var form = document.getElementById(id);
      if (!form) { return; }
      fill(form, saved[id]);
      notice(form, "Restored the values you typed before logging in again. They are NOT saved yet: check them and press the button.");
    });
    try { sessionStorage.removeItem(STORE); } catch (e) { /* ignore */ }
  }

  function isLogin(r) {
    try { return new URL(r.url).pathname === "/login"; } catch (e) { return false; }
  }

  function swap(html, formId, typed) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var next = doc.getElementById("session-live");
    var current = live();
    if (!next || !current) { return false; }
    current.replaceWith(next);
    if (typed) {  // the server refused the values: show them again beside its errors
      var form = document.getElementById(formId);
      if (form) { fill(form, typed); }
    }
    bind();
    return true;
  }

  function finish() {
    document.body.classList.remove("busy");
    document.body.setAttribute("data-updated", String(Date.now()));
  }

  function submit(event) {
    var form = event.target;
    if (!form.hasAttribute("data-partial")) { return; }
    event.preventDefault();
    var data = new FormData(form);
    var body = new URLSearchParams(data);
    var signature = body.toString();
    if (form.getAttribute("data-sent") !== signature || !form.getAttribute("data-key")) {
      form.setAttribute("data-key", newKey());  // new values: a new request
      form.setAttribute("data-sent", signature);
    }
    var token = data.get("csrf_token") || "";
    var typed = fields(form);
    var url = form.getAttribute("action");  // not form.action: a field may be named "action"
    document.body.classList.add("busy");
    fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "x-csrf-token": String(token), "idempotency-key": form.getAttribute("data-key") }
    }).then(function (r) {
      if (isLogin(r)) {
        keepUnsent(form);
        notice(form, "Not saved: your login has expired.", loginHref());
        return;
      }
      return r.text().then(function (html) {
        if (r.ok) {
          if (!swap(html, form.id, null)) { notice(form, "Not saved: unexpected answer from the server. Your values are kept; try again."); }
          return;
        }
        if (!swap(html, form.id, typed)) {
          notice(form, "Not saved: the server answered " + r.status + (r.statusText ? " " + r.statusText : "") + ". Your values are kept; try again.");
        }
      });
    }).catch(function () {
      notice(form, "Not saved: no connection to the server. Your values are kept; try again.");
    }).finally(finish);
  }

  function refresh() {
    var current = live();
    if (!current || !current.getAttribute("data-session")) { return; }
    if (current.getAttribute("data-refresh-ms") === "0") { return; }  // signed: nothing changes
    var idle = Number(current.getAttribute("data-idle-ms")) || 1800000;
    var active = Date.now() - lastInput < idle / 2;
    fetch("/sessions/" + current.getAttribute("data-session") + "/live" + (active ? "?active=1" : ""), {
      credentials: "same-origin"
    }).then(function (r) {
      if (isLogin(r)) {
        var banner = document.getElementById("login-expired");
        if (!banner) {
          banner = document.createElement("div");
          banner.id = "login-expired";
          banner.className = "errors";
          banner.setAttribute("role", "alert");
          banner.appendChild(document.createTextNode("Your login has expired: nothing more can be saved until you log in again. "));
          var a = document.createElement("a");
          a.href = loginHref();
          a.className = "relogin";
          a.textContent = "Log in again (your typed values are kept)";
          a.addEventListener("click", function () {
            Array.prototype.forEach.call(document.querySelectorAll("form[data-partial][data-dirty]"), keepUnsent);
          });
          banner.appendChild(a);
          current.insertBefore(banner, current.firstChild);
        }
        return;
      }
      if (!r.ok) { return; }
      return r.text().then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["since-line", "vitals-due", "discharge-status", "discharge-unmet"].forEach(function (id) {
          var fresh = doc.getElementById(id);
          var old = document.getElementById(id);
          if (fresh && old) { old.replaceWith(fresh); }
        });
        document.body.setAttribute("data-refreshed", String(Date.now()));
      });
    }).catch(function () { /* offline: try again at the next tick */ });
  }

  function bind() {
    var current = live();
    if (current && !current.hasAttribute("data-bound")) {
      current.setAttribute("data-bound", "1");
      current.addEventListener("submit", submit);
      current.addEventListener("input", function (event) {
        lastInput = Date.now();
        var form = event.target && event.target.form;
        if (form) { form.setAttribute("data-dirty", "1"); }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    bind();
    restoreUnsent();
    ["keydown", "pointerdown"].forEach(function (type) {
      document.addEventListener(type, function () { lastInput = Date.now(); });
    });
    var current = live();
    var period = current ? Number(current.getAttribute("data-refresh-ms")) : 0;
    if (period > 0) { window.setInterval(refresh, period); }
  });
})();
