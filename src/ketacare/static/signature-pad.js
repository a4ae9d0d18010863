// ketacare signature pad (part of ketacare, same licence): draw a signature with a finger, pen
// or mouse on <canvas id="signature-pad">; on submit the drawing goes into the hidden field
// "signature" as a PNG data URL. No inline script, no CDN (CSP: script-src 'self').
"use strict";
(function () {
  var canvas = document.getElementById("signature-pad");
  if (!canvas) { return; }
  var form = canvas.closest("form");
  var field = document.getElementById("signature");
  var status = document.getElementById("signature-status");
  var ctx = canvas.getContext("2d");
  var drawing = false, drawn = false, last = null;

  function fit() {
    var ratio = window.devicePixelRatio || 1;
    var rect = canvas.getBoundingClientRect();
    canvas.width = Math.round(rect.width * ratio);
    canvas.height = Math.round(rect.height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, rect.width, rect.height);
    ctx.lineWidth = 2.2;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";
    drawn = false;
    field.value = "";
  }
  function point(e) {
    var rect = canvas.getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  }
  canvas.addEventListener("pointerdown", function (e) {
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    drawing = true;
    last = point(e);
    ctx.beginPath();
    ctx.arc(last.x, last.y, 1.1, 0, 2 * Math.PI);
    ctx.fillStyle = "#111";
    ctx.fill();
  });
  canvas.addEventListener("pointermove", function (e) {
    if (!drawing) { return; }
    e.preventDefault();
    var p = point(e);
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
    drawn = true;
  });
  function stop() {
    drawing = false;
    if (drawn) {
      field.value = canvas.toDataURL("image/png");
      if (status) { status.textContent = "Signature captured."; }
    }
  }
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  var clear = document.getElementById("signature-clear");
  if (clear) {
    clear.addEventListener("click", function () {
      fit();
      if (status) { status.textContent = "Cleared: sign again."; }
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
        if (status) { status.textContent = "Type your full name first, then press this button."; }
        name.focus();
        return;
      }
      fit();
      var rect = canvas.getBoundingClientRect();
      var size = Math.max(16, Math.min(40, rect.height / 3));
      ctx.font = "italic " + size + "px cursive, serif";
      ctx.fillStyle = "#111";
      ctx.textBaseline = "middle";
      ctx.fillText(text, 12, rect.height / 2, rect.width - 24);
      drawn = true;
      field.value = canvas.toDataURL("image/png");
      if (status) { status.textContent = "Signature captured from your typed name."; }
    });
  }
  form.addEventListener("submit", function (e) {
    if (!drawn) {
      e.preventDefault();
      if (status) { status.textContent = "Please sign in the box first."; }
    }
  });
  fit();
})();
