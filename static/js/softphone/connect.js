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
 *   `connection.getEndpoint().phoneNumber`; `contact.getType()` with `connect.ContactType.VOICE`.
 * - `connect.agent(callback)`; `agent.connect(connect.Endpoint.byPhoneNumber(number), {success, failure})` dials.
 * The server-side adapter files a call under `connect:<initialContactId or contactId>` (panel/dialers/connect.py):
 * the same id here. Streams speaks to the CCP frame itself (its own protocol); the page's CSP frame-src is the
 * instance's origin only.
 */
(function () {
  "use strict";

  var agent = null;

  function callOf(contact) {
    var connection = contact.getActiveInitialConnection && contact.getActiveInitialConnection();
    var endpoint = connection && connection.getEndpoint ? connection.getEndpoint() : null;
    return {
      id: (contact.getInitialContactId && contact.getInitialContactId()) || contact.getContactId(),
      phone: endpoint ? endpoint.phoneNumber : "",
      direction: contact.isInbound && contact.isInbound() ? "inbound" : "outbound"
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
        if (connect.ContactType && contact.getType && contact.getType() !== connect.ContactType.VOICE) { return; }
        var call = callOf(contact);   // the number is read while the connection is still active
        contact.onConnecting(function () { call = callOf(contact); host.call(call.id, call.phone, call.direction, "ringing"); });
        contact.onConnected(function () { host.call(call.id, call.phone || callOf(contact).phone, call.direction, "answered"); });
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
