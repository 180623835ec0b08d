/* The softphone page's shared half (panel/softphone/views.py, docs/softphones.md): the dialer's web phone on one
 * side, the panel (/panel, framed from this same origin) on the other.
 *
 * - The phone: messages are accepted only when they come from the phone's own window and from the configured
 *   origin (data-origin, which is also the page's only frame-src besides 'self'), and posted only to that origin,
 *   never to "*".
 * - The panel: driven only through its documented postMessage API (static/js/embed.js, docs/embedding.md):
 *   host → panel {type: "panel:call", callId, phone, direction, state}; panel → host {type: "panel:dial", phone}.
 *   The panel learns its host's origin from the host's first message (this page is the panel's own origin, which
 *   the panel does not take from the referrer), so the page greets it once the frame has loaded.
 * - Call ids: `<dialer>:<the vendor's call id>`, the id the server-side adapter files the call under
 *   (panel/dialers/<dialer>.py), so the task form the panel opens on answer is bound to the call the webhook logs.
 * - The contact match some phones ask for (RingCentral, Zoom): GET /softphone/match?phone=… (the panel's own
 *   lookup and cache).
 *
 * A dialer's script calls `Softphone.start(adapter)`:
 *   adapter.receive(data, host)  a message from the phone (already checked: origin and window)
 *   adapter.dial(phone, host)    the agent tapped a number in the panel (E.164)
 *   adapter.init(host)           optional: once, when the page is ready (SDK-based phones start here)
 * No inline script anywhere: the page's Content-Security-Policy forbids it.
 */
(function () {
  "use strict";

  var MAX_PHONE = 100;
  var page = document.getElementById("softphone");
  var dialer = page.getAttribute("data-dialer");
  var origin = page.getAttribute("data-origin");
  var adapter = null;
  var panelGreeted = false;
  var queued = [];          // panel:call messages waiting for the panel frame to load
  var lastCall = null;

  // -- the phone --------------------------------------------------------------------------------------------------

  function phoneFrame() {
    return document.getElementById("softphone-frame") ||
      document.querySelector("#softphone-container iframe");
  }

  function phoneWindow() {
    var frame = phoneFrame();
    return frame ? frame.contentWindow : null;
  }

  function fromPhone(event) {
    var phone = phoneWindow();
    return !!phone && event.source === phone && event.origin === origin;
  }

  function postToPhone(message) {
    var phone = phoneWindow();
    if (phone) { phone.postMessage(message, origin); }
  }

  // -- the panel --------------------------------------------------------------------------------------------------

  function panelWindow() {
    var frame = document.getElementById("panel-frame");
    return frame ? frame.contentWindow : null;
  }

  function postToPanel(message) {
    var panel = panelWindow();
    if (!panel) { return; }
    if (!panelGreeted) { queued.push(message); return; }
    panel.postMessage(message, location.origin);
  }

  function greetPanel() {
    panelGreeted = true;
    var panel = panelWindow();
    // Any allowed message tells the panel who its host is (embed.js); this one carries nothing else.
    panel.postMessage({ type: "panel:host", dialer: dialer }, location.origin);
    if (lastCall) { panel.postMessage(lastCall, location.origin); }
    queued.forEach(function (message) { if (message !== lastCall) { panel.postMessage(message, location.origin); } });
    queued = [];
  }

  function cleanPhone(value) {
    var text = value === null || value === undefined ? "" : String(value).trim();
    return text && text.length <= MAX_PHONE ? text : "";
  }

  function cleanId(value) {
    var text = value === null || value === undefined ? "" : String(value).trim();
    return text && text.length <= 200 && !/[\u0000-\u001f\u007f]/.test(text) ? text : "";
  }

  // Tell the panel about the call: ringing pops the number (its GET /panel is the server's lookup, cached for the
  // answer), answered opens the task form bound to the call, ended shows where the call went.
  function call(vendorId, number, direction, state) {
    var id = cleanId(vendorId);
    var phone = cleanPhone(number);
    if (!phone || ["ringing", "answered", "ended"].indexOf(state) === -1) { return; }
    var message = { type: "panel:call", callId: id ? dialer + ":" + id : "", phone: phone,
                    direction: direction === "outbound" ? "outbound" : "inbound", state: state };
    // Phones that report a call twice (RingCentral: its web phone and its presence) tell the panel once.
    if (lastCall && message.callId && lastCall.callId === message.callId && lastCall.state === state) { return; }
    lastCall = message;
    postToPanel(message);
    setStatus(state);
    if (state === "answered") { showTab("panel"); }
  }

  // -- the contact match ------------------------------------------------------------------------------------------

  function match(number) {
    var phone = cleanPhone(number);
    if (!phone) { return Promise.resolve(null); }
    return fetch(page.getAttribute("data-match-url") + "?phone=" + encodeURIComponent(phone),
                 { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .catch(function () { return null; });
  }

  // -- the page: status line and the tabs (one side at a time on a phone-sized screen) ----------------------------

  function setStatus(key) {
    var status = document.getElementById("softphone-status");
    if (status) { status.textContent = status.getAttribute("data-" + key) || ""; }
  }

  function showTab(name) {
    page.setAttribute("data-tab", name);
    document.querySelectorAll(".softphone-tabs [role=tab]").forEach(function (tab) {
      tab.setAttribute("aria-selected", tab.getAttribute("data-tab") === name ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    var tab = event.target.closest && event.target.closest(".softphone-tabs [role=tab]");
    if (tab) { showTab(tab.getAttribute("data-tab")); }
  });

  // -- messages ---------------------------------------------------------------------------------------------------

  var host = {
    dialer: dialer, origin: origin, call: call, match: match, postToPhone: postToPhone, fromPhone: fromPhone,
    phoneFrame: phoneFrame, setStatus: setStatus, showTab: showTab, cleanPhone: cleanPhone, cleanId: cleanId
  };

  window.addEventListener("message", function (event) {
    var panel = panelWindow();
    if (panel && event.source === panel) {
      if (event.origin !== location.origin) { return; }
      var data = event.data;
      if (data && data.type === "panel:dial" && adapter && adapter.dial) {
        var phone = cleanPhone(data.phone);
        if (phone) { setStatus("dialing"); showTab("phone"); adapter.dial(phone, host); }
      }
      return;
    }
    if (!fromPhone(event) || !adapter || !adapter.receive) { return; }   // anyone else: ignored
    if (event.data && typeof event.data === "object") { adapter.receive(event.data, host); }
  });

  window.Softphone = {
    start: function (dialerAdapter) {
      adapter = dialerAdapter;
      var frame = document.getElementById("panel-frame");
      if (frame) {
        frame.addEventListener("load", greetPanel);
        try {
          if (frame.contentDocument && frame.contentDocument.readyState === "complete" &&
              frame.contentWindow.location.href !== "about:blank") { greetPanel(); }
        } catch (e) { /* not loaded yet */ }
      }
      if (adapter.init) { adapter.init(host); }
    }
  };
})();
