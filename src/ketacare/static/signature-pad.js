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
  var typedSignature = false;  // the typed name drawn as the signature (keyboard users)

  function fit() {
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = Math.round(canvas.offsetWidth * ratio);
    canvas.height = Math.round(canvas.offsetHeight * ratio);
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    typedSignature = false;
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
  // Keyboard (and switch or voice) users sign with their typed name: the button draws the
  // name typed in "Your full name" into the box as the signature image (issue 21.5).
  var typed = document.getElementById("signature-typed");
  var name = document.getElementById("typed_name");
  if (typed && name) {
    typed.addEventListener("click", function () {
      var text = name.value.trim();
      if (!text) {
        say("Type your full name first, then press this button.");
        name.focus();
        return;
      }
      fit();
      var rect = canvas.getBoundingClientRect();
      var size = Math.max(16, Math.min(40, rect.height / 3));
      var ctx = canvas.getContext("2d");
      ctx.font = "italic " + size + "px cursive, serif";
      ctx.fillStyle = "#111";
      ctx.textBaseline = "middle";
      ctx.fillText(text, 12, rect.height / 2, rect.width - 24);
      typedSignature = true;
      field.value = canvas.toDataURL("image/png");
      say("Signature captured from your typed name.");
    });
  }
  form.addEventListener("submit", function (e) {
    if (pad.isEmpty() && !typedSignature) {
      e.preventDefault();
      say("Please sign in the box first.");
      return;
    }
    field.value = canvas.toDataURL("image/png");
  });
  fit();
  // The two script-only buttons are rendered hidden and shown once they work.
  if (clear) { clear.hidden = false; }
  if (typed) { typed.hidden = false; }
})();
