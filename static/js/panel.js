/* The panel's own script (no inline script: the Content-Security-Policy forbids it).
 * Embedding (postMessage with the dialer, popup sign-in) lives in embed.js. */
(function () {
  "use strict";
  // Focus the first thing worth reading after the pop changes, so keyboard and screen-reader users follow it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "pop") {
      var heading = target.querySelector("h2, [role=alert]");
      if (heading && !heading.hasAttribute("tabindex")) { heading.setAttribute("tabindex", "-1"); }
      if (heading) { heading.focus({ preventScroll: false }); }
    }
  });

  // The call was logged (partials/call_outcome.html): reload the card's task lists, so its Task leaves the next
  // steps for the past activities. A task form open under the card (a note being typed) is kept as it is.
  document.addEventListener("htmx:load", function (event) {
    var outcome = event.target;
    if (!outcome || outcome.id !== "call-outcome") { return; }
    // The caller header (which stays in view while a note is typed) says it too: "Call ended · Logged".
    var short = document.querySelector("#card .caller-call[data-state='ended'] .caller-outcome");
    if (short) { short.textContent = outcome.getAttribute("data-short") ? "· " + outcome.getAttribute("data-short") : ""; }
    if (outcome.getAttribute("data-outcome") !== "logged") { return; }
    var card = document.getElementById("card");
    var lists = document.getElementById("task-lists");
    if (!card || !lists || !card.getAttribute("data-lists-url") || !window.htmx) { return; }
    // A Task being edited in place keeps its lists as they are (what is typed there would be lost).
    if (document.querySelector("#task-lists details.task-edit[open]")) { return; }
    var openForm = document.querySelector("form#task-form");
    var focused = openForm && openForm.contains(document.activeElement) ? document.activeElement : null;
    window.htmx.ajax("GET", card.getAttribute("data-lists-url"), { target: "#task-lists", swap: "outerHTML" })
      .then(function () {
        var folded = document.getElementById("task-form");
        if (openForm && folded && folded !== openForm && folded.tagName !== "FORM") {
          folded.replaceWith(openForm);
          window.htmx.process(openForm);
          if (focused) { focused.focus({ preventScroll: true }); }  // the agent types on
        }
        var refreshed = document.getElementById("task-lists");
        if (refreshed) { refreshed.setAttribute("data-refreshed-for", outcome.getAttribute("data-call-id") || ""); }
      });
  });

  // Quick-create: a field required for some record types only (data-required-for="Lead") gets its marker and its
  // `required` attribute when that type is chosen. The server renders the first state and validates every submit.
  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (!radio.matches || !radio.matches('.quick-create input[name="record_type"]')) { return; }
    radio.form.querySelectorAll("[data-required-for]").forEach(function (element) {
      var wanted = element.getAttribute("data-required-for").split(" ").indexOf(radio.value) !== -1;
      if (element.tagName === "INPUT") { element.required = wanted; } else { element.hidden = !wanted; }
    });
  });
})();
