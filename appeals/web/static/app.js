// Small behaviours htmx does not cover. Loaded as a file: the CSP allows no inline script.
(function () {
  "use strict";

  function showError(message) {
    var box = document.getElementById("flashes");
    if (!box) return;
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.setAttribute("role", "alert");
    p.textContent = message;
    box.replaceChildren(p);
  }

  // A table that scrolls sideways in its own box (`.table-wrap`) must be reachable by keyboard
  // (WCAG 2.1.1): give it a tab stop and a name, on every page and after every swap.
  function focusableScrollers(root) {
    if (!root || !root.querySelectorAll) return;
    var boxes = Array.from(root.querySelectorAll(".table-wrap:not([tabindex])"));
    if (root.matches && root.matches(".table-wrap:not([tabindex])")) boxes.push(root);
    boxes.forEach(function (box) {
      box.setAttribute("tabindex", "0");
      if (!box.hasAttribute("role")) box.setAttribute("role", "region");
      if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
        var section = box.closest("article, section");
        var heading = section && section.querySelector("h1, h2, h3, caption");
        var name = heading ? heading.textContent.trim().replace(/\s+/g, " ") : "Table";
        box.setAttribute("aria-label", name + " (scrolls sideways)");
      }
    });
  }
  document.addEventListener("htmx:load", function (event) { focusableScrollers(event.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { focusableScrollers(document.body); });

  // Leave empty filter fields out of GET requests, so pushed URLs stay short and shareable.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") return;
    var params = event.detail.parameters;
    var keys = params instanceof FormData ? Array.from(params.keys()) : Object.keys(params);
    keys.forEach(function (key) {
      var values = params instanceof FormData ? params.getAll(key) : [].concat(params[key]);
      if (values.every(function (v) { return v === ""; })) {
        if (params instanceof FormData) params.delete(key); else delete params[key];
      }
    });
  });

  // "Select all" checks every row checkbox of the same form.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
    var form = box.form || box.closest("form");
    if (!form) return;
    form.querySelectorAll('input[type=checkbox][name="' + box.dataset.selectAll + '"]').forEach(function (row) {
      row.checked = box.checked;
    });
  });

  // Upload progress for the 835 upload form.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = document.getElementById("upload-progress");
    if (!bar || !event.detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });
  document.addEventListener("htmx:afterRequest", function () {
    var bar = document.getElementById("upload-progress");
    if (bar) { bar.hidden = true; bar.value = 0; }
  });

  // Errors htmx does not swap (403, 404, 500...): show the server's message in the flash area.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var message = doc.querySelector(".flash, article p");
    showError(message ? message.textContent.trim() : "The request failed (" + xhr.status + ").");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("The server could not be reached. Check the connection and try again.");
  });
})();
