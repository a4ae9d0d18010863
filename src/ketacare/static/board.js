// Chair board: fetch the board's JSON every 10 s and redraw the table (no reload, no inline script).
"use strict";
(function () {
  var table = document.getElementById("chair-board");
  if (!table) { return; }
  var body = table.querySelector("tbody");
  var stamp = document.getElementById("board-time");
  var csrf = table.getAttribute("data-csrf");
  // Read-only for the front desk (it may not open a session): no action buttons.
  var readonly = table.getAttribute("data-readonly") === "1";
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
    return td;
  }
  // The redraw keeps the keyboard focus: a focused link or button of a chair's row gets it
  // back in the new row (else a keyboard user was thrown to the top every 10 s).
  function focusedChair() {
    var el = document.activeElement;
    var tr = el && body.contains(el) ? el.closest("tr[data-chair]") : null;
    return tr ? tr.getAttribute("data-chair") : null;
  }
  function draw(data) {
    var keep = focusedChair();
    body.textContent = "";
    data.chairs.forEach(function (c) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-chair", c.chair_id);
      cell(tr, c.chair);
      cell(tr, c.patient ? c.patient + (c.starts_at ? " (" + c.starts_at + ")" : "") : "—");
      cell(tr, c.phase, "phase phase-" + c.phase.replace(/ /g, "-"));
      cell(tr, c.next_due ? c.next_due + (c.next_due_at ? " at " + c.next_due_at : "") : "", "next-due");
      var alerts = (c.alerts || []).slice();
      if (c.booking_id && c.confirmed) { alerts.unshift("confirmed"); }
      cell(tr, alerts.join("; "), "alerts");
      var act = cell(tr, "");
      if (c.session_id) {
        var a = document.createElement("a");
        a.href = "/sessions/" + c.session_id;
        a.textContent = "Session";
        a.setAttribute("aria-label", "Session of " + c.chair);
        act.appendChild(a);
      } else if (c.booking_id && !readonly) {
        var f = document.createElement("form");
        f.method = "post";
        f.action = "/scheduling/bookings/" + c.booking_id + "/session";
        f.className = "inline";
        var h = document.createElement("input");
        h.type = "hidden"; h.name = "csrf_token"; h.value = csrf;
        var b = document.createElement("button");
        b.type = "submit"; b.textContent = "Open session";
        b.setAttribute("aria-label", "Open session on " + c.chair);
        f.appendChild(h); f.appendChild(b);
        act.appendChild(f);
      }
      body.appendChild(tr);
      if (keep !== null && String(c.chair_id) === keep) {
        var target = tr.querySelector("a, button");
        if (target) { target.focus(); }
      }
    });
    if (stamp) { stamp.textContent = data.now; }
  }
  function load() {
    fetch(table.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { draw(data); } })
      .catch(function () { if (stamp) { stamp.textContent = "offline, retrying"; } });
  }
  load();
  window.setInterval(load, 10000);
})();
