// Flow designer: mark the substate whose panel is open (the board reloads itself, the panel swaps alone).
(function () {
  "use strict";

  function markSelected() {
    var panel = document.getElementById("panel");
    var selected = panel ? panel.dataset.selected : "";
    document.querySelectorAll(".sub-card").forEach(function (card) {
      var on = selected !== "" && card.dataset.substate === selected;
      card.classList.toggle("selected", on);
      if (on) card.setAttribute("aria-current", "true"); else card.removeAttribute("aria-current");
    });
  }

  document.addEventListener("htmx:afterSettle", markSelected);
  document.addEventListener("DOMContentLoaded", markSelected);
})();
