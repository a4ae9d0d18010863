// Coverage form (billing): the subscriber's name and birth date are asked only when the patient
// is not the subscriber; the fields stay in the page (and are sent) for a browser without script.
"use strict";
(function () {
  var forms = document.querySelectorAll("form.coverage-form");
  Array.prototype.forEach.call(forms, function (form) {
    var select = form.querySelector('select[name="subscriber_relationship"]');
    var fields = form.querySelector(".subscriber-fields");
    if (!select || !fields) { return; }
    function sync() {
      var self = select.value === "self";
      fields.hidden = self;
      Array.prototype.forEach.call(fields.querySelectorAll("input"), function (input) {
        input.disabled = self;
        if (input.name === "subscriber_name") { input.required = !self; }
      });
    }
    select.addEventListener("change", sync);
    sync();
  });
})();
