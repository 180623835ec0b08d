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
