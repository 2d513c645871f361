// memalign review: keyboard shortcuts and the "what changed" panel. Hand-written, no library.
// Keys 1-9 pick a label (not while typing), Ctrl/Cmd+Enter submits "submit and next".
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "TEXTAREA" || (tag === "INPUT" && target.type !== "radio" && target.type !== "checkbox") || tag === "SELECT";
  }

  document.addEventListener("keydown", function (event) {
    var form = document.getElementById("review-form");
    if (!form) { return; }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      var next = document.getElementById("submit-next");
      if (form.requestSubmit) { form.requestSubmit(next); } else { next.click(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (event.key >= "1" && event.key <= "9") {
      var choice = form.querySelector('input[name="label"][data-key="' + event.key + '"]');
      if (choice) {
        choice.checked = true;
        choice.focus();
        event.preventDefault();
      }
    }
  });

  // The panel is rendered (and escaped) by the server; polling swaps in its newer rendering.
  // Backing off keeps a slow model (seconds per alignment) from drawing a request every few
  // milliseconds, and polling stops for good after a while: a reload shows the rest.
  var FIRST_DELAY = 400, MAX_DELAY = 5000, GIVE_UP_AFTER = 120000;

  function poll(panel, delay, started) {
    var id = panel.getAttribute("data-job");
    if (Date.now() - started > GIVE_UP_AFTER) { return; }
    window.setTimeout(function () {
      fetch("/jobs/" + encodeURIComponent(id) + "/panel", { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.firstElementChild;
          if (!fresh) { return; }
          panel.replaceWith(fresh);
          if (fresh.getAttribute("data-poll")) {
            poll(fresh, Math.min(MAX_DELAY, Math.round(delay * 1.5)), started);
          }
        })
        .catch(function () { /* the page still works without the live panel */ });
    }, delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var panels = document.querySelectorAll("[data-job][data-poll]");
    for (var i = 0; i < panels.length; i++) { poll(panels[i], FIRST_DELAY, Date.now()); }
  });
})();
