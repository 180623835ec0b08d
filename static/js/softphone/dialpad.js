/* Dialpad Mini Dialer (CTI) on the softphone page (host.js does the origin checks and talks to the panel).
 *
 * Dialpad's documentation: https://developers.dialpad.com/docs/dialpad-mini-dialer — messages both ways are
 * {api: "opencti_dialpad", version: "1.0", method, payload}:
 * - from the CTI: `user_authentication` {user_authenticated, user_id} and `call_ringing` {state: "on" | "off", id,
 *   contact, target, internal_number, external_number} (contact and target added in April 2023:
 *   https://developers.dialpad.com/changelog/recently-launched-april-2023);
 * - to the CTI: `enable_current_tab` (this tab handles the calls) and `initiate_call` {phone_number,
 *   enable_current_tab}.
 * The CTI says nothing when a call is answered or ends (`call_ringing` "off" only says it stopped ringing): here the
 * panel pops the number on ring; answer and hang-up are the server-side webhook's (panel/dialers/dialpad.py).
 * The id in `call_ringing` is told to the panel as `dialpad:<id>`; whether it is the `master_call_id` the webhook
 * files the call under (or one leg's `call_id`) is not documented.
 */
(function () {
  "use strict";

  var API = "opencti_dialpad";
  var VERSION = "1.0";

  function send(host, method, payload) {
    var message = { api: API, version: VERSION, method: method };
    if (payload) { message.payload = payload; }
    host.postToPhone(message);
  }

  window.Softphone.start({
    receive: function (message, host) {
      if (message.api !== API) { return; }
      var payload = message.payload && typeof message.payload === "object" ? message.payload : {};
      if (message.method === "user_authentication" && payload.user_authenticated === true) {
        send(host, "enable_current_tab");
      } else if (message.method === "call_ringing" && payload.state === "on") {
        host.call(payload.id, payload.external_number, "inbound", "ringing");
      }
    },
    dial: function (phone, host) {
      send(host, "initiate_call", { enable_current_tab: true, phone_number: phone });
    }
  });
})();
