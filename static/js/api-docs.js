// The API reference page: Swagger UI (vendored) on the app's own OpenAPI document.
document.addEventListener("DOMContentLoaded", function () {
  var node = document.getElementById("api-reference");
  if (!node || typeof SwaggerUIBundle !== "function") { return; }
  SwaggerUIBundle({
    url: node.dataset.specUrl,
    domNode: node,
    deepLinking: true,
    tryItOutEnabled: false,
    // The page is the app's: no "validator" badge calling out to swagger.io.
    validatorUrl: null,
  });
});
