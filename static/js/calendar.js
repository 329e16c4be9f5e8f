// Calendar page: the feed address's Copy button (shown only where scripts run; the field is selectable anyway).
(function () {
  "use strict";

  function copied(button) {
    var message = button.getAttribute("data-copied") || "";
    if (window.oppflowAnnounce) window.oppflowAnnounce(message);
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.textContent = message;
    clearTimeout(button.timer);
    button.timer = setTimeout(function () { button.textContent = button.dataset.label; }, 3000);
  }

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { copied(button); }, function () {
        if (document.execCommand("copy")) copied(button);
      });
    } else if (document.execCommand("copy")) {
      copied(button);
    }
  }

  function setUp(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      if (button.dataset.ready) return;
      button.dataset.ready = "1";
      button.addEventListener("click", function () { copy(button); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
})();
