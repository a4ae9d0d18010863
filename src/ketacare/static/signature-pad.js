// ketacare's consent signing box (part of ketacare, same licence), on the maintained
// signature_pad component (static/vendor/, MIT): draw a signature with a finger, pen or mouse
// on <canvas id="signature-pad">; on submit the drawing goes into the hidden field "signature"
// as a PNG data URL. No inline script, no CDN (CSP: script-src 'self').
"use strict";
(function () {
  var canvas = document.getElementById("signature-pad");
  if (!canvas || typeof window.SignaturePad !== "function") { return; }
  var form = canvas.closest("form");
  var field = document.getElementById("signature");
  var status = document.getElementById("signature-status");
  var pad = new window.SignaturePad(canvas, {
    backgroundColor: "rgb(255, 255, 255)",
    penColor: "rgb(17, 17, 17)",
    minWidth: 1,
    maxWidth: 2.8,
  });

  function say(text) { if (status) { status.textContent = text; } }

  // The drawing surface follows the box's size and the screen's pixel ratio; a resize clears
  // it (the component's documented behaviour), and the patient is told so.
  function fit() {
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = Math.round(canvas.offsetWidth * ratio);
    canvas.height = Math.round(canvas.offsetHeight * ratio);
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    field.value = "";
  }
  var lastWidth = canvas.offsetWidth;
  window.addEventListener("resize", function () {
    if (canvas.offsetWidth === lastWidth) { return; }
    lastWidth = canvas.offsetWidth;
    var had = !pad.isEmpty();
    fit();
    if (had) { say("The screen turned: please sign again."); }
  });

  pad.addEventListener("endStroke", function () {
    field.value = pad.toDataURL("image/png");
    say("Signature captured.");
  });
  var clear = document.getElementById("signature-clear");
  if (clear) {
    clear.addEventListener("click", function () {
      fit();
      say("Cleared: sign again.");
    });
  }
  form.addEventListener("submit", function (e) {
    if (pad.isEmpty()) {
      e.preventDefault();
      say("Please sign in the box first.");
      return;
    }
    field.value = pad.toDataURL("image/png");
  });
  fit();
})();
