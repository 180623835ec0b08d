/* RingCentral Embeddable on the softphone page (host.js does the origin checks and talks to the panel).
 *
 * From RingCentral Embeddable's documentation (https://ringcentral.github.io/ringcentral-embeddable/, source
 * github.com/ringcentral/ringcentral-embeddable docs/integration/*.md):
 * - events.md, "Web phone call event": {type: "rc-call-ring-notify" | "rc-call-init-notify" |
 *   "rc-call-start-notify" | "rc-call-end-notify", call} — ring (incoming), created (outgoing, from the dial pad),
 *   accepted/connected, ended; and "Active call event" {type: "rc-active-call-notify", call} for every calling mode
 *   (call-pop.md reads `call.direction` "Inbound"/"Outbound", `call.telephonyStatus` "Ringing",
 *   `call.from.phoneNumber`, `call.to.phoneNumber`).
 * - api.md, "Start a call": {type: "rc-adapter-new-call", phoneNumber, toCall: true}.
 * - index.md: register the service after {type: "rc-login-status-notify"} with
 *   {type: "rc-adapter-register-third-party-service", service: {name, contactMatchPath, …}}; address-book.md,
 *   "Show matched contact": the phone then asks {type: "rc-post-message-request", requestId, path, body} and the
 *   host answers {type: "rc-post-message-response", responseId: requestId, response: {data: {<number>: [{id, type:
 *   <service name>, name, phoneNumbers: [{phoneNumber, phoneType}]}]}}}. The numbers asked come in
 *   `body.phoneNumbers` (src/modules/ThirdPartyService/index.ts `matchContacts`: not said in the docs' text).
 * Not in the docs' text, read in the source: the web phone's call is its session, `from`/`to` plain strings and
 * the telephony session id in `partyData.sessionId` (src/modules/Adapter/index.js); presence calls carry
 * `telephonySessionId`. The server-side adapter files a call under `ringcentral:<telephonySessionId>`
 * (panel/dialers/ringcentral.py), so that is the call id told to the panel.
 * Call logging stays with the server-side webhook: no call logger is registered.
 */
(function () {
  "use strict";

  var SERVICE = "Salesforce";        // the name the phone shows beside matched contacts
  var MATCH_PATH = "/contacts/match";
  var MAX_NUMBERS = 20;
  var registered = false;

  function number(value) {
    if (value && typeof value === "object") { return value.phoneNumber || ""; }
    return value || "";
  }

  function sessionId(call) {
    return call.telephonySessionId || (call.partyData && call.partyData.sessionId) || "";
  }

  function direction(call) {
    return String(call.direction || "").toLowerCase() === "outbound" ? "outbound" : "inbound";
  }

  function other(call) {
    return direction(call) === "outbound" ? number(call.to) : number(call.from);
  }

  function webPhoneCall(call, state, host) {
    if (call && typeof call === "object") { host.call(sessionId(call), other(call), direction(call), state); }
  }

  var PRESENCE_STATES = { Ringing: "ringing", CallConnected: "answered", NoCall: "ended" };

  function answerMatch(request, host) {
    var body = request.body || {};
    var numbers = Array.isArray(body.phoneNumbers) ? body.phoneNumbers.slice(0, MAX_NUMBERS) : [];
    Promise.all(numbers.map(function (asked) { return host.match(asked); })).then(function (answers) {
      var data = {};
      numbers.forEach(function (asked, index) {
        var found = answers[index];
        if (!found || !found.records || !found.records.length) { return; }
        data[asked] = found.records.map(function (record) {
          return { id: record.id, type: SERVICE, name: record.name || "",
                   phoneNumbers: [{ phoneNumber: asked, phoneType: "direct" }] };
        });
      });
      host.postToPhone({ type: "rc-post-message-response", responseId: request.requestId, response: { data: data } });
    });
  }

  window.Softphone.start({
    receive: function (data, host) {
      switch (data.type) {
        case "rc-login-status-notify":
          if (!registered) {
            registered = true;
            host.postToPhone({ type: "rc-adapter-register-third-party-service",
                               service: { name: SERVICE, contactMatchPath: MATCH_PATH } });
          }
          break;
        case "rc-post-message-request":
          if (data.path === MATCH_PATH && data.requestId) { answerMatch(data, host); }
          break;
        case "rc-call-ring-notify":
        case "rc-call-init-notify":
          webPhoneCall(data.call, "ringing", host);
          break;
        case "rc-call-start-notify":
          webPhoneCall(data.call, "answered", host);
          break;
        case "rc-call-end-notify":
          webPhoneCall(data.call, "ended", host);
          break;
        case "rc-active-call-notify":
          if (data.call && PRESENCE_STATES[data.call.telephonyStatus]) {
            webPhoneCall(data.call, PRESENCE_STATES[data.call.telephonyStatus], host);
          }
          break;
        default:
          break;
      }
    },
    dial: function (phone, host) {
      host.postToPhone({ type: "rc-adapter-new-call", phoneNumber: phone, toCall: true });
    }
  });
})();
