// The API reference page: Swagger UI (vendored) on the app's own OpenAPI document.
document.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("api-reference");
  if (!node || typeof SwaggerUIBundle !== "function") { return; }
  // A layout of our own instead of Swagger's: the page has its title, introduction and main landmark
  // already, so only the operations and the schemas are shown — Swagger's layout would add a second h1,
  // a <main> inside the page's <main>, an unlabelled server picker and version stamps below AA contrast.
  var layout = function (system) {
    return {
      components: {
        OppflowLayout: function () {
          var h = system.React.createElement;
          return h("div", { className: "swagger-ui" },
            h(system.getComponent("errors", true), null),
            h("div", { className: "wrapper" }, h(system.getComponent("operations", true), null)),
            h("div", { className: "wrapper" }, h(system.getComponent("Models", true), null)));
        },
      },
    };
  };
  SwaggerUIBundle({
    url: node.dataset.specUrl,
    domNode: node,
    // Deep links would put a link inside each operation's toggle button (nested controls, WCAG 4.1.2).
    deepLinking: false,
    tryItOutEnabled: false,
    // The page is the app's: no "validator" badge calling out to swagger.io.
    validatorUrl: null,
    plugins: [layout],
    layout: "OppflowLayout",
  });
  // Examples scroll sideways when long: a keyboard must be able to reach them (WCAG 2.1.1). Swagger renders
  // them when an operation opens, so each new one is given a tab stop as it appears.
  new MutationObserver(function () {
    node.querySelectorAll(".highlight-code > pre:not([tabindex])").forEach(function (pre) {
      pre.setAttribute("tabindex", "0");
    });
  }).observe(node, { childList: true, subtree: true });
});
