/* Zoom Phone Smart Embed on the softphone page (host.js does the origin checks and talks to the panel).
 *
 * Zoom's guide: https://developers.zoom.us/docs/phone/smart-embed-guide/ (and /docs/phone/smart-embed/). The
 * message names below are the guide's; the field names were confirmed only from second-hand summaries of it
 * (Zoom's own plug-in reference, github.com/anthropics/knowledge-work-plugins partner-built/zoom-plugin/skills/phone
 * references/smart-embed-event-contract.md and examples/smart-embed-postmessage-bridge.md, and integrations that use
 * it), not from the guide's page itself — see docs/softphones.md:
 * - the phone posts {type: "zp-call-ringing-event" | "zp-call-connected-event" | "zp-call-ended-event", data:
 *   {callId, direction: "inbound" | "outbound", caller: {phoneNumber, name}, callee: {phoneNumber}}};
 * - the phone asks {type: "zp-contact-match-event", data: {requestId, phoneNumbers: [...]}} and the host answers
 *   {type: "zp-contact-match-response", data: {responseId: requestId, contacts: [{number, displayName}]}};
 * - the host dials with {type: "zp-make-call", data: {number, autoDial: true}}.
 * The server-side adapter files a call under `zoom:<call_id>` (panel/dialers/zoom.py); that Smart Embed's `callId`
 * is the webhooks' `call_id` is assumed, not documented.
 */
(function () {
  "use strict";

  var MAX_NUMBERS = 20;
  var STATES = { "zp-call-ringing-event": "ringing", "zp-call-connected-event": "answered",
                 "zp-call-ended-event": "ended" };

  function number(party) {
    if (!party) { return ""; }
    return typeof party === "object" ? party.phoneNumber || party.number || "" : String(party);
  }

  function callEvent(data, state, host) {
    if (!data || typeof data !== "object") { return; }
    var outbound = String(data.direction || "").toLowerCase() === "outbound";
    host.call(data.callId, number(outbound ? data.callee : data.caller), outbound ? "outbound" : "inbound", state);
  }

  function answerMatch(data, host) {
    if (!data || typeof data !== "object" || !data.requestId) { return; }
    var asked = Array.isArray(data.phoneNumbers) ? data.phoneNumbers : [data.phoneNumber || data.number];
    var numbers = asked.map(number).filter(Boolean).slice(0, MAX_NUMBERS);
    Promise.all(numbers.map(function (one) { return host.match(one); })).then(function (answers) {
      var contacts = [];
      numbers.forEach(function (one, index) {
        var found = answers[index];
        (found && found.records || []).forEach(function (record) {
          contacts.push({ number: one, displayName: record.name || "" });
        });
      });
      host.postToPhone({ type: "zp-contact-match-response", data: { responseId: data.requestId, contacts: contacts } });
    });
  }

  window.Softphone.start({
    receive: function (message, host) {
      if (STATES[message.type]) { callEvent(message.data, STATES[message.type], host); return; }
      if (message.type === "zp-contact-match-event") { answerMatch(message.data, host); }
    },
    dial: function (phone, host) {
      host.postToPhone({ type: "zp-make-call", data: { number: phone, autoDial: true } });
    }
  });
})();
