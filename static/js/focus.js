// Focus and announcements after every htmx swap, for keyboard and screen-reader users. One rule set for the
// whole app, driven by attributes the templates set (no per-page code):
//   data-announce="…"   read out in the page's one live region (#status); empty: the element's own text.
//   data-focus           "always": take the focus after the swap (e.g. the saved row, the panel heading);
//                        "opened": on a GET only (an opened form takes its first field, a loaded panel its heading);
//                        "results": after a submit or a click, not while the user types or picks a filter
//                        (moving focus away from a field under the user's hands would be a change of context).
//   data-item            a list item with an id: if the focused control goes, focus stays on the same item,
//                        else the next one, the previous one, or the heading of its [data-list] (after a delete).
// A refused form (422) focuses its first invalid field and announces its message. Otherwise, if the focused
// element was swapped away, focus goes back to the element with the same id, else to the region's heading.
(function () {
  "use strict";

  var FIELDS = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), " +
    "button:not([disabled]), a[href], summary, [tabindex]:not([tabindex='-1'])";
  var TYPING = { input: true, change: true, keyup: true, keydown: true };
  var pending = null;  // what the swap is about to replace, recorded in htmx:beforeSwap

  function text(el) { return el ? (el.textContent || "").replace(/\s+/g, " ").trim() : ""; }

  function announce(message) {
    var region = document.getElementById("status");
    message = (message || "").replace(/\s+/g, " ").trim();
    if (!region || !message) return;
    // Emptied first and filled a moment later, so the same message twice ("Saved", "Saved") is read again.
    region.textContent = "";
    clearTimeout(announce.timer);
    announce.timer = setTimeout(function () { region.textContent = message; }, 60);
  }

  function shown(el) { return !!(el && el.getClientRects().length); }

  function firstField(root) {
    var all = root.querySelectorAll(FIELDS);
    for (var i = 0; i < all.length; i++) if (shown(all[i])) return all[i];
    return null;
  }

  function focusOn(el) {
    if (!el || !el.isConnected) return false;
    if (el.matches("form")) el = firstField(el) || el;
    if (!el.matches(FIELDS) || el.disabled) {
      if (el.disabled) return false;
      if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");  // headings, rows, counts
    }
    el.focus({ preventScroll: true });
    if (el.scrollIntoView) el.scrollIntoView({ block: "nearest", inline: "nearest" });
    return document.activeElement === el;
  }

  function within(root, selector) {
    if (root.matches(selector)) return [root];
    return Array.prototype.slice.call(root.querySelectorAll(selector));
  }

  function focusLost() {
    var a = document.activeElement;
    return !a || a === document.body || !a.isConnected;
  }

  function itemId(el, step) {
    for (var s = el[step]; s; s = s[step]) if (s.matches("[data-item][id]")) return s.id;
    return null;
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    var cfg = evt.detail.requestConfig || {};
    var active = document.activeElement;
    pending = {
      id: target && target.id,
      verb: (cfg.verb || "get").toLowerCase(),
      event: cfg.triggeringEvent ? cfg.triggeringEvent.type : "",
      status: evt.detail.xhr ? evt.detail.xhr.status : 200,
      lost: null,
    };
    if (!target || !active || active === document.body || !target.contains(active)) return;
    var item = active.closest("[data-item][id]");
    var list = item && item.closest("[data-list][id]");
    pending.lost = {
      id: active.id || null,
      item: item ? item.id : null,
      index: item ? Array.prototype.indexOf.call(item.querySelectorAll(FIELDS), active) : -1,
      next: item ? itemId(item, "nextElementSibling") : null,
      prev: item ? itemId(item, "previousElementSibling") : null,
      list: list ? list.id : null,
    };
  });

  // The first invalid field of a refused form, and what to say about it: "<label>: <message>".
  function invalid(root) {
    var bad = within(root, "[aria-invalid=true], .has-error")[0];
    if (bad) {
      var field = bad.matches(FIELDS) ? bad : firstField(bad);
      var box = bad.closest(".field, .has-error") || bad;
      var label = box.querySelector("label:not(.check)");
      var message = text(box.querySelector(".error"));
      return { el: field || bad, message: (label ? text(label) + ": " : "") + message };
    }
    var alert = within(root, ".flash-error, [role=alert]")[0];
    return alert ? { el: alert, message: text(alert) } : null;
  }

  function restore(root, lost) {
    var byId = function (id) { return id ? document.getElementById(id) : null; };
    if (focusOn(byId(lost.id))) return true;
    var item = byId(lost.item);
    if (item) {
      var controls = item.querySelectorAll(FIELDS);
      return focusOn(controls[lost.index]) || focusOn(item);
    }
    if (focusOn(byId(lost.next)) || focusOn(byId(lost.prev))) return true;
    var list = byId(lost.list);
    if (list) return focusOn(list.querySelector("h1, h2, h3, caption") || list);
    return false;
  }

  function settle(root, info) {
    var pick = function (kind) { return within(root, "[data-focus='" + kind + "']"); };
    if (info.status === 422) {
      var bad = invalid(root);
      if (bad) { focusOn(bad.el); announce(bad.message); return; }
    }
    var announced = within(root, "[data-announce]")[0];
    if (announced) announce(announced.getAttribute("data-announce") || text(announced));
    within(root, "[data-announce]").forEach(function (el) { el.removeAttribute("data-announce"); });

    if (pick("always").some(focusOn)) return;
    if (info.lost && focusLost() && restore(root, info.lost)) return;
    if (info.verb === "get") {
      var opened = pick("opened");
      opened.sort(function (a, b) { return (b.matches("form") ? 1 : 0) - (a.matches("form") ? 1 : 0); });
      if (opened.some(focusOn)) return;
    }
    if (!TYPING[info.event] && pick("results").some(focusOn)) return;
    if (info.lost && focusLost()) focusOn(root.querySelector("h1, h2, h3, caption") || root);
  }

  // At once after the swap, not after settling: a key pressed meanwhile would otherwise go to the page.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var info = pending;
    pending = null;
    if (!info) return;
    var target = evt.detail.target;
    var root = target && target.isConnected ? target : (info.id ? document.getElementById(info.id) : null);
    if (root) settle(root, info);
  });

  window.oppflowAnnounce = announce;
})();
