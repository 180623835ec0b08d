/* The Amazon Connect CCP on the softphone page, through Amazon Connect Streams (vendored from npm:
 * static/vendor/amazon-connect-streams-2.28.2, Apache-2.0). host.js talks to the panel.
 *
 * Streams' documentation (github.com/amazon-connect/amazon-connect-streams Documentation.md):
 * - "Initialization": `connect.core.initCCP(container, {ccpUrl, loginPopup, loginPopupAutoClose, softphone:
 *   {allowFramedSoftphone}})` frames the CCP at `ccpUrl` (the instance's /ccp-v2/); the page's origin must be an
 *   approved origin of the instance.
 * - `connect.contact(callback)`; `contact.onConnecting` (a contact comes in, before it is accepted),
 *   `contact.onConnected`, `contact.onEnded`; `contact.getContactId()`, `contact.getInitialContactId()` (the contact
 *   a transfer started from, none otherwise); `contact.isInbound()`; `contact.getActiveInitialConnection()` and
 *   `connection.getEndpoint().phoneNumber`; `contact.getType()`: `connect.ContactType.VOICE` ("normal incoming and
 *   outgoing voice calls") and `QUEUE_CALLBACK` ("special outbound voice calls which are routed to agents before
 *   being placed"; its `onConnecting` fires once the agent has accepted it) are calls — the server-side adapter logs
 *   a callback as an outbound call (initiationMethod CALLBACK) — chat, task and email contacts are not.
 * - `connect.agent(callback)`; `agent.connect(connect.Endpoint.byPhoneNumber(number), {success, failure})` dials.
 * The server-side adapter files a call under `connect:<initialContactId or contactId>` (panel/dialers/connect.py):
 * the same id here. Streams speaks to the CCP frame itself (its own protocol); the page's CSP frame-src is the
 * instance's origin only. This script handles no postMessage: Streams' page-side API is callbacks.
 * Tested against a stand-in of that documented API (tests/browser/test_softphone_connect.py,
 * tests/browser/standins/connect-streams.js), not against a real CCP.
 */
(function () {
  "use strict";

  var agent = null;

  function typeOf(contact) {
    return contact.getType ? contact.getType() : null;
  }

  function isCallback(contact) {
    var types = window.connect.ContactType;
    return !!types && typeOf(contact) === types.QUEUE_CALLBACK;
  }

  function isCall(contact) {
    var types = window.connect.ContactType;
    return !types || typeOf(contact) === types.VOICE || isCallback(contact);
  }

  function callOf(contact) {
    var connection = contact.getActiveInitialConnection && contact.getActiveInitialConnection();
    var endpoint = connection && connection.getEndpoint ? connection.getEndpoint() : null;
    return {
      id: (contact.getInitialContactId && contact.getInitialContactId()) || contact.getContactId(),
      phone: endpoint ? endpoint.phoneNumber : "",
      direction: !isCallback(contact) && contact.isInbound && contact.isInbound() ? "inbound" : "outbound"
    };
  }

  window.Softphone.start({
    init: function (host) {
      var connect = window.connect;
      if (!connect || !connect.core) { return; }
      connect.core.initCCP(document.getElementById("softphone-container"), {
        ccpUrl: document.getElementById("softphone").getAttribute("data-embed-url"),
        loginPopup: true, loginPopupAutoClose: true, softphone: { allowFramedSoftphone: true }
      });
      connect.agent(function (found) { agent = found; });
      connect.contact(function (contact) {
        if (!isCall(contact)) { return; }
        var call = callOf(contact);   // the number is read while the connection is still active
        contact.onConnecting(function () {
          var now = callOf(contact);
          call = { id: now.id, phone: now.phone || call.phone, direction: now.direction };
          host.call(call.id, call.phone, call.direction, "ringing");
        });
        contact.onConnected(function () {
          host.call(call.id, call.phone || callOf(contact).phone, call.direction, "answered");
        });
        contact.onEnded(function () { host.call(call.id, call.phone, call.direction, "ended"); });
      });
    },
    dial: function (phone) {
      var connect = window.connect;
      if (!agent || !connect) { return; }
      agent.connect(connect.Endpoint.byPhoneNumber(phone), { success: function () {}, failure: function () {} });
    }
  });
})();
