// Patient assessments page: copy a freshly shown questionnaire link to the clipboard.
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
})();
