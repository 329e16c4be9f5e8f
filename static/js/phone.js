// Phones: the filter boxes (<details class="filterbox" open>) start folded so the list comes first, unless a
// filter is already in use (then the user sees why the list is short). Desktops keep them open.
(function () {
  "use strict";
  var PHONE = "(max-width: 640px)";

  function inUse(box) {
    return Array.prototype.some.call(box.querySelectorAll("input[name], select[name]"), function (field) {
      if (field.type === "checkbox") return field.checked;
      return field.type !== "hidden" && field.value !== "";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.matchMedia(PHONE).matches) return;
    document.querySelectorAll("details.filterbox[open]").forEach(function (box) {
      if (!inUse(box)) box.open = false;
    });
  });
})();
