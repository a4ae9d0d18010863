// Copy a freshly shown link (questionnaire or confirmation) to the clipboard. The button is
// rendered hidden and shown only here, once its listener is attached: without this script
// (or before it has run) there is no button that does nothing; the field stays selectable.
"use strict";
(function () {
  var button = document.getElementById("copy-link");
  if (!button) { return; }
  var input = document.getElementById(button.getAttribute("data-copy"));
  var status = document.getElementById("copy-status");
  function done(text) { if (status) { status.textContent = text; } }
  button.addEventListener("click", function () {
    input.focus();
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () { done("Copied."); },
        function () { done("Select the link and copy it (Ctrl+C)."); }
      );
      return;
    }
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    done(ok ? "Copied." : "Select the link and copy it (Ctrl+C).");
  });
  button.hidden = false;
})();
