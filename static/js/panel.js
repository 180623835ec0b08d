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
})();
