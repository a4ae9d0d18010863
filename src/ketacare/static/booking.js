// Course booking form: "Find slots" asks the server for the course's slots and shows them;
// "Book these sessions" then submits the form (the server searches again and books in one
// transaction).
"use strict";
(function () {
  var form = document.getElementById("course-form");
  if (!form) { return; }
  var find = document.getElementById("find-slots");
  var out = document.getElementById("proposal");
  var book = document.getElementById("book-row");
  // Enter in a field (implicit submission) searches first instead of booking unseen slots.
  form.addEventListener("submit", function (e) {
    if (book.hidden) { e.preventDefault(); search(); }
  });
  find.addEventListener("click", search);
  find.hidden = false;  // rendered hidden: a button that needs this script appears with it
  function search() {
    out.textContent = "Searching…";
    book.hidden = true;
    fetch(form.getAttribute("data-search"), {
      method: "POST",
      credentials: "same-origin",
      body: new URLSearchParams(new FormData(form))
    }).then(function (r) { return r.json(); }).then(function (data) {
      out.textContent = "";
      if (data.detail) {
        var p = document.createElement("p");
        p.className = "error";
        p.setAttribute("role", "alert");
        p.textContent = data.detail.map(function (d) { return d.field + ": " + d.reason; }).join("; ");
        out.appendChild(p);
        return;
      }
      var list = document.createElement("ol");
      list.id = "proposed-slots";
      data.slots.forEach(function (s) {
        var li = document.createElement("li");
        li.textContent = s.day + " " + s.start + "–" + s.end + ", " + s.chair;
        list.appendChild(li);
      });
      out.appendChild(list);
      book.hidden = false;
    }).catch(function () { out.textContent = "The search failed; try again."; });
  }
})();
