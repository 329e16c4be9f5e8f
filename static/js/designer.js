// Flow designer: mark the substate whose panel is open (the board reloads itself, the panel swaps alone), and
// keep the user's place when the board is swapped: its scroll position, and the focus of a keyboard move.
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

  // What the board looked like before htmx replaced it: which control had focus (by id) and how far it was
  // scrolled. Without this a move made from the keyboard drops focus to the page, so pressing again does nothing.
  var kept = null;

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var board = document.getElementById("board");
    if (!board || !evt.detail.target || !evt.detail.target.contains(board)) return;
    var active = document.activeElement;
    var scroller = board.querySelector(".board");
    kept = {
      focus: active && active.id && board.contains(active) ? active.id : null,
      left: scroller ? scroller.scrollLeft : 0,
      top: scroller ? scroller.scrollTop : 0,
    };
  });

  function restore() {
    if (!kept) return;
    var was = kept;
    kept = null;
    var scroller = document.querySelector("#board .board");
    if (scroller) { scroller.scrollLeft = was.left; scroller.scrollTop = was.top; }
    var el = was.focus ? document.getElementById(was.focus) : null;
    if (!el) return;
    // A move to the very first or last place disables that button: its other move button takes the focus.
    if (el.disabled) el = el.closest(".move").querySelector("button:not([disabled])")
      || el.closest(".sub-card, .state-col").querySelector("a");
    if (!el) return;
    if (document.activeElement !== el) el.focus({ preventScroll: true });
    (el.closest(".sub-card") || el.closest(".state-col") || el).scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  // At once after the swap, not after settling: a key pressed meanwhile would otherwise go to the page.
  document.addEventListener("htmx:afterSwap", restore);
  document.addEventListener("htmx:afterSettle", markSelected);
  document.addEventListener("DOMContentLoaded", markSelected);
})();
