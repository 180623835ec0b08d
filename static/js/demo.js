/* The demo dialer's page script (templates/demo.html). It plays a dialer vendor's page: it tells the panel iframe
 * about calls by postMessage, only to the panel's origin, and accepts messages only from that iframe and origin;
 * it tells the server through /demo/events, which signs each event as the agent signed in on this page and
 * forwards it to the webhook (signed out, the server refuses: the log says so). */
(function () {
  "use strict";

  var body = document.body;
  var panelOrigin = body.getAttribute("data-panel-origin");
  var eventsUrl = body.getAttribute("data-events-url");
  var csrfToken = body.getAttribute("data-csrf-token");
  var frame = document.getElementById("panel-frame");
  var stateLine = document.getElementById("demo-state");
  var log = document.getElementById("demo-log");
  var buttons = {
    ring: document.getElementById("demo-ring"),
    answer: document.getElementById("demo-answer"),
    hangup: document.getElementById("demo-hangup")
  };
  var call = null;   // {callId, vendorId, format, phone, direction, answeredAt}
  var counter = 0;

  function randomHex(length) {
    var bytes = new Uint8Array(length / 2);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function value(id) { return document.getElementById(id).value.trim(); }

  function say(key) { stateLine.textContent = stateLine.getAttribute("data-" + key) || key; }

  function note(text) {
    var item = document.createElement("li");
    item.textContent = new Date().toLocaleTimeString() + "  " + text;
    log.insertBefore(item, log.firstChild);
  }

  function setButtons(state) {
    buttons.ring.disabled = state === "ringing" || state === "answered";
    buttons.answer.disabled = state !== "ringing";
    buttons.hangup.disabled = state !== "ringing" && state !== "answered";
  }

  function tellPanel(state) {
    frame.contentWindow.postMessage({ type: "panel:call", callId: call.callId, phone: call.phone,
                                      direction: call.direction, state: state }, panelOrigin);
    note("postMessage panel:call " + state);
  }

  function tellServer(state, extra) {
    var payload = { state: state, call_id: call.vendorId, phone: call.phone, direction: call.direction,
                    format: call.format };
    Object.keys(extra || {}).forEach(function (key) { payload[key] = extra[key]; });
    return fetch(eventsUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(payload)
    }).then(function (answer) {
      return answer.json().then(function (result) { result.status = answer.status; return result; });
    }).then(function (result) {
      note("webhook " + (result.type || state) + " → " + (result.webhook_status || result.status) + " " +
           (result.webhook && (result.webhook.status || result.webhook.error) || result.error || ""));
      return result;
    }).catch(function () { note("webhook " + state + " failed"); });
  }

  function ring(phone, direction) {
    if (!phone) { document.getElementById("demo-number").focus(); return; }
    counter += 1;
    // With a vendor's format the call is filed under "<dialer>:<the vendor's id>" (docs/dialers.md); Twilio's
    // call ids are "CA" and 32 hex digits.
    var format = value("demo-format") || "panel";
    var vendorId = format === "twilio" ? "CA" + randomHex(32) : "demo-" + Date.now().toString(36) + "-" + counter;
    call = { callId: format === "panel" ? vendorId : format + ":" + vendorId, vendorId: vendorId, format: format,
             phone: phone, direction: direction || value("demo-direction") || "inbound", answeredAt: null };
    document.getElementById("demo-number").value = phone;
    body.setAttribute("data-call-id", call.callId);
    say("ringing");
    setButtons("ringing");
    tellPanel("ringing");
    return tellServer("ringing");
  }

  function answer() {
    if (!call) { return; }
    call.answeredAt = Date.now();
    say("answered");
    setButtons("answered");
    tellPanel("answered");
    return tellServer("answered");
  }

  function hangUp() {
    if (!call) { return; }
    var duration = parseInt(value("demo-duration"), 10);
    if (!(duration >= 0)) { duration = call.answeredAt ? Math.round((Date.now() - call.answeredAt) / 1000) : 0; }
    var answered = call.answeredAt !== null;
    say("ended");
    setButtons("ended");
    tellPanel("ended");
    var ended = tellServer("ended", { answered: answered, duration_seconds: answered ? duration : 0,
                                      disposition: value("demo-disposition"),
                                      voicemail: document.getElementById("demo-voicemail").checked });
    body.setAttribute("data-last-call-id", call.callId);
    return ended;
  }

  buttons.ring.addEventListener("click", function () { ring(value("demo-number")); });
  buttons.answer.addEventListener("click", answer);
  buttons.hangup.addEventListener("click", hangUp);
  document.getElementById("demo-callers").addEventListener("click", function (event) {
    var caller = event.target.closest("[data-phone]");
    if (!caller) { return; }
    document.getElementById("demo-number").value = caller.getAttribute("data-phone");
    if (!buttons.ring.disabled) { ring(caller.getAttribute("data-phone")); }
  });

  // Messages from the panel: only from our iframe, only from the panel's origin.
  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== panelOrigin) { return; }
    var data = event.data || {};
    if (data.type === "panel:ready") {
      body.setAttribute("data-panel-ready", "true");
      if (!call) { say("ready"); }
      note("panel:ready");
    } else if (data.type === "panel:dial" && typeof data.phone === "string") {
      note("panel:dial " + data.phone);
      body.setAttribute("data-last-dial", data.phone);
      if (!buttons.ring.disabled) {
        document.getElementById("demo-direction").value = "outbound";
        say("dialing");
        ring(data.phone, "outbound");
      }
    }
  });

  setButtons("idle");
  say("waiting");
})();
