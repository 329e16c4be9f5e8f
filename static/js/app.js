// oppflow front-end glue: htmx settings, error toasts, confirmations, sortable lists.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    // Forms answered with 422 carry their own messages: swap them in. Other errors go to the toast.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: false, error: true },
    ];
  });

  function showToast(text) {
    var toast = document.getElementById("toast");
    if (!toast) return;
    toast.textContent = text;
    toast.hidden = false;
    if (window.oppflowAnnounce) window.oppflowAnnounce(text);  // the page's one live region (focus.js)
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(function () { toast.hidden = true; }, 6000);
  }

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var box = document.createElement("div");
    box.innerHTML = xhr.responseText || "";
    var frag = box.querySelector(".error-fragment");
    showToast(frag ? frag.textContent.trim() : (xhr.status + " " + xhr.statusText));
  });
  document.addEventListener("htmx:sendError", function () {
    showToast(document.documentElement.lang === "it" ? "Connessione non riuscita." :
      document.documentElement.lang === "es" ? "No se pudo conectar." : "Could not reach the server.");
  });
  document.addEventListener("click", function (evt) {
    if (evt.target.closest("#toast")) evt.target.closest("#toast").hidden = true;
  });

  // Filter forms marked data-drop-empty leave their empty fields out of the request, so the URL they
  // push reads ?status=failed rather than ?opportunity=&template=&status=failed (empty means "any").
  document.addEventListener("htmx:configRequest", function (evt) {
    var source = evt.detail.elt;
    var form = source && source.closest ? source.closest("form[data-drop-empty]") : null;
    if (!form || evt.detail.verb !== "get") return;
    Object.keys(evt.detail.parameters).forEach(function (name) {
      var value = evt.detail.parameters[name];
      if (value === "" || value === null) delete evt.detail.parameters[name];
    });
  });

  // Plain forms and buttons may ask for confirmation with data-confirm (no inline script: CSP).
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      evt.preventDefault();
    }
  }, true);

  // Sortable lists (htmx sortable example): a form.sortable posts its ids in their new order on "end".
  function initSortables(root) {
    var lists = root.querySelectorAll ? Array.prototype.slice.call(root.querySelectorAll(".sortable")) : [];
    if (root.matches && root.matches(".sortable")) lists.unshift(root);  // a swapped-in list itself
    lists.forEach(function (el) {
      if (el._sortable) return;
      el._sortable = new Sortable(el, {
        animation: 150,
        handle: el.dataset.handle || null,
        group: el.dataset.group || undefined,
        draggable: el.dataset.draggable || ".sortable-item",
        ghostClass: "sortable-ghost",
        // data-fallback: drag by mouse events rather than native drag and drop (steadier on nested lists).
        forceFallback: el.dataset.fallback === "true",
        fallbackOnBody: el.dataset.fallback === "true",
        onEnd: function () { this.option("disabled", true); },
      });
      el.addEventListener("htmx:afterSwap", function () { el._sortable.option("disabled", false); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    htmx.onLoad(function (content) { if (window.Sortable) initSortables(content); });
  });
  window.oppflow = { showToast: showToast, initSortables: initSortables };
})();
