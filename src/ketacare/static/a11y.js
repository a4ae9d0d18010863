// ketacare (same licence): a table too wide for the screen scrolls sideways inside itself
// (style.css); such a scroller must be reachable by keyboard (WCAG 2.1.1, axe
// "scrollable-region-focusable"), so it gets tabindex="0" and a name while it overflows, and
// loses them when it fits again (wider window, fewer rows). Runs on every page: on load, on
// resize and when a script redraws part of the page (chair board, session page).
"use strict";
(function () {
  var MARK = "data-scroll-focus";

  function label(el) {
    var cap = el.querySelector("caption");
    if (cap && cap.textContent.trim()) { return null; }  // a table's caption names it already
    var box = el.closest("section, .card, figure");
    var heading = box ? box.querySelector("h2, h3, figcaption") : null;
    if (!heading) { heading = document.querySelector("main h1"); }
    var text = heading ? heading.textContent.replace(/\s+/g, " ").trim() : "";
    return (text || "Table") + " (scrolls sideways)";
  }

  function mark() {
    var els = document.querySelectorAll("main table, main .scroll");
    Array.prototype.forEach.call(els, function (el) {
      var wide = el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible";
      if (wide && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        el.setAttribute(MARK, "");
        var name = (el.hasAttribute("aria-label") || el.hasAttribute("aria-labelledby")) ? null : label(el);
        if (name) { el.setAttribute("aria-label", name); el.setAttribute(MARK, "label"); }
        if (el.tagName !== "TABLE") { el.setAttribute("role", "region"); }
      } else if (!wide && el.hasAttribute(MARK)) {
        el.removeAttribute("tabindex");
        if (el.getAttribute(MARK) === "label") { el.removeAttribute("aria-label"); }
        if (el.tagName !== "TABLE") { el.removeAttribute("role"); }
        el.removeAttribute(MARK);
      }
    });
  }

  var queued = false;
  function soon() {
    if (queued) { return; }
    queued = true;
    window.requestAnimationFrame(function () { queued = false; mark(); });
  }

  function start() {
    mark();
    window.addEventListener("resize", soon);
    var main = document.querySelector("main");
    if (main && window.MutationObserver) {
      new MutationObserver(function (records) {
        // ignore the attributes this script sets; react to redrawn content
        for (var i = 0; i < records.length; i++) { if (records[i].type === "childList") { soon(); return; } }
      }).observe(main, { childList: true, subtree: true });
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
