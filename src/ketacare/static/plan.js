// Plan form: offer only the chosen protocol's variants (without JavaScript every variant is
// listed, grouped by protocol, and the server refuses a variant of another protocol).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var protocol = document.getElementById("protocol_id");
  var variant = document.getElementById("variant");
  if (!protocol || !variant) { return; }
  function sync() {
    Array.prototype.forEach.call(variant.querySelectorAll("optgroup"), function (g) {
      var mine = g.getAttribute("data-protocol") === protocol.value;
      g.hidden = !mine;
      g.disabled = !mine;
      if (!mine && g.contains(variant.selectedOptions[0] || null)) { variant.value = ""; }
    });
  }
  protocol.addEventListener("change", sync);
  sync();
});
