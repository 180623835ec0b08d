/* Stand-in for Amazon Connect Streams (the `connect` global of connect-streams-min.js), for
 * tests/browser/test_softphone_connect.py, which serves it at the vendored script's path
 * (/static/vendor/amazon-connect-streams-2.28.2/connect-streams-min.js) on the test's server only.
 *
 * Written from Streams' documentation, github.com/amazon-connect/amazon-connect-streams Documentation.md
 * (https://github.com/amazon-connect/amazon-connect-streams/blob/master/Documentation.md):
 * - "Initialization", `connect.core.initCCP(containerDiv, {ccpUrl, loginPopup, loginPopupAutoClose, softphone, …})`:
 *   "loading the pre-built CCP located at `ccpUrl` into an iframe and placing it into the `containerDiv`".
 * - "Event Subscription": `connect.agent(callback)` — called at once when the agent is already initialized,
 *   otherwise "once the first agent data is received"; `connect.contact(callback)` — "for each newly detected agent
 *   contact"; `on*()` methods return subscription objects with `unsubscribe()`.
 * - "Contact API": `onConnecting` ("when a contact comes in, before accepting"), `onAccepted`, `onConnected`,
 *   `onMissed`, `onEnded` ("ended by the agent, or … missed"), `onACW`, `onDestroy`, `onRefresh`; `getContactId()`;
 *   `getOriginalContactId()` / `getInitialContactId()` ("the original (initial) contact id from which this contact
 *   was transferred, or none if this is not an internal Connect transfer"); `getType()`; `getState()` {type,
 *   timestamp}; `getConnections()`, `getInitialConnection()`, `getActiveInitialConnection()` ("or null if the
 *   initial connection is no longer active"); `isInbound()`; `isConnected()`.
 * - "Connection API": `getContactId()`, `getConnectionId()`, `getEndpoint()` / `getAddress()`, `getType()`,
 *   `isInitialConnection()`, `isActive()`.
 * - "Agent API", `agent.connect(endpoint, {queueARN, success, failure})`: "Creates an outbound contact to the given
 *   endpoint. Only phone number endpoints are supported."
 * - "Utility Functions", `Endpoint.byPhoneNumber(number, name)`; "Enumerations": ContactType, ContactStateType,
 *   EndpointType, ConnectionType (the documentation names the members; their string values — lower case, e.g.
 *   "voice" — are those of `connect.makeEnum` in Streams' src/api.js).
 * Order of events (documented: a contact is first "detected", then its `on*` events fire; Streams' src/core.js
 * triggers the contact's INIT and then the event of the state it is in): `ring` below calls the `connect.contact`
 * callbacks and then the contact's `onConnecting` subscribers (`onIncoming` for a queued callback).
 *
 * Nothing of Streams' own (undocumented) protocol with the CCP frame is played: the CCP frame is a plain page.
 * The test drives it through `window.connectStandin` (in the page that loaded this script):
 *   login()                         the agent's first data arrives (connect.agent callbacks run)
 *   ring({contactId, initialContactId, phoneNumber, inbound, type})   a contact is detected, then connecting
 *   accept(contactId)               a queued callback is accepted (then connecting)
 *   answer(contactId) / end(contactId) / miss(contactId)             its state changes
 *   dialOut(contactId)              the outbound contact agent.connect created (its endpoint's number)
 *   initialized, dialed             what initCCP and agent.connect were called with
 */
(function () {
  "use strict";

  function enumOf(names) {
    var result = {};
    names.forEach(function (name) { result[name.toUpperCase()] = name; });
    return result;
  }

  var ContactType = enumOf(["voice", "queue_callback", "chat", "task", "email"]);
  var ContactStateType = enumOf(["init", "incoming", "pending", "connecting", "connected", "missed", "error",
                                 "ended"]);
  var EndpointType = enumOf(["phone_number", "agent", "queue"]);
  var ConnectionType = enumOf(["agent", "inbound", "outbound", "monitoring"]);

  var contactCallbacks = [];
  var agentCallbacks = [];
  var agentObject = null;
  var contacts = {};
  var control = { initialized: [], dialed: [], subscribed: { agent: 0, contact: 0 } };

  function subscription(list, callback) {
    list.push(callback);
    return { unsubscribe: function () { var at = list.indexOf(callback); if (at !== -1) { list.splice(at, 1); } } };
  }

  // -- Endpoint -----------------------------------------------------------------------------------------------------

  function Endpoint(params) {
    params = params || {};
    this.type = params.type || null;
    this.name = params.name || null;
    this.phoneNumber = params.phoneNumber || null;
  }
  Endpoint.byPhoneNumber = function (number, name) {
    return new Endpoint({ type: EndpointType.PHONE_NUMBER, phoneNumber: number, name: name || null });
  };

  // -- Connection and Contact ---------------------------------------------------------------------------------------

  function Connection(contact, id, type, phoneNumber, initial) {
    var active = true;
    this.getContactId = function () { return contact.getContactId(); };
    this.getConnectionId = function () { return id; };
    this.getEndpoint = function () {
      return new Endpoint({ type: EndpointType.PHONE_NUMBER, phoneNumber: phoneNumber });
    };
    this.getAddress = this.getEndpoint;
    this.getType = function () { return type; };
    this.isInitialConnection = function () { return initial; };
    this.isActive = function () { return active; };
    this.disconnect = function () { active = false; };   // the stand-in's, not Streams'
  }

  var EVENTS = ["refresh", "incoming", "pending", "connecting", "accepted", "connected", "missed", "ended", "acw",
                "destroy", "error"];
  var HANDLERS = { refresh: "onRefresh", incoming: "onIncoming", pending: "onPending", connecting: "onConnecting",
                   accepted: "onAccepted", connected: "onConnected", missed: "onMissed", ended: "onEnded",
                   acw: "onACW", destroy: "onDestroy", error: "onError" };

  function Contact(spec) {
    var self = this;
    var subscribers = {};
    var state = { type: ContactStateType.INIT, timestamp: new Date() };
    var inbound = spec.inbound !== false;
    var customer = new Connection(this, spec.contactId + "-customer", inbound ? ConnectionType.INBOUND :
                                  ConnectionType.OUTBOUND, spec.phoneNumber, true);
    var agentLeg = new Connection(this, spec.contactId + "-agent", ConnectionType.AGENT, null, false);
    EVENTS.forEach(function (event) {
      subscribers[event] = [];
      self[HANDLERS[event]] = function (callback) { return subscription(subscribers[event], callback); };
    });
    this.getContactId = function () { return spec.contactId; };
    this.getOriginalContactId = function () { return spec.initialContactId || null; };
    this.getInitialContactId = this.getOriginalContactId;
    this.getType = function () { return spec.type || ContactType.VOICE; };
    this.getState = function () { return { type: state.type, timestamp: state.timestamp }; };
    this.getStatus = this.getState;
    this.getConnections = function () { return [agentLeg, customer]; };
    this.getInitialConnection = function () { return customer; };
    this.getActiveInitialConnection = function () { return customer.isActive() ? customer : null; };
    this.getAgentConnection = function () { return agentLeg; };
    this.isInbound = function () { return inbound; };
    this.isConnected = function () { return state.type === ContactStateType.CONNECTED; };
    // The stand-in's own: a state change fires its documented events, in order.
    this._become = function (type, events) {
      state = { type: type, timestamp: new Date() };
      if (type === ContactStateType.ENDED || type === ContactStateType.MISSED) { customer.disconnect(); }
      events.concat(["refresh"]).forEach(function (event) {
        subscribers[event].slice().forEach(function (callback) { callback(self); });
      });
    };
  }

  // -- Agent --------------------------------------------------------------------------------------------------------

  function Agent() {
    this.connect = function (endpoint, params) {
      control.dialed.push({ type: endpoint && endpoint.type, phoneNumber: endpoint && endpoint.phoneNumber,
                            name: endpoint && endpoint.name, queueARN: (params && params.queueARN) || null,
                            success: !!(params && typeof params.success === "function"),
                            failure: !!(params && typeof params.failure === "function") });
      if (params && typeof params.success === "function") { setTimeout(function () { params.success(); }, 0); }
    };
    this.getContacts = function (typeFilter) {
      return Object.keys(contacts).map(function (id) { return contacts[id]; }).filter(function (contact) {
        return !typeFilter || contact.getType() === typeFilter;
      });
    };
  }

  // -- the `connect` global -----------------------------------------------------------------------------------------

  window.connect = {
    core: {
      initCCP: function (container, options) {
        control.initialized.push(JSON.parse(JSON.stringify(options || {})));
        var frame = document.createElement("iframe");
        frame.src = options.ccpUrl;
        frame.title = "Amazon Connect CCP";
        frame.allow = "microphone; autoplay";
        container.appendChild(frame);
      }
    },
    agent: function (callback) {
      control.subscribed.agent += 1;
      if (agentObject) { callback(agentObject); return { unsubscribe: function () {} }; }
      return subscription(agentCallbacks, callback);
    },
    contact: function (callback) {
      control.subscribed.contact += 1;
      return subscription(contactCallbacks, callback);
    },
    Endpoint: Endpoint,
    ContactType: ContactType,
    ContactStateType: ContactStateType,
    EndpointType: EndpointType,
    ConnectionType: ConnectionType
  };

  // -- the test's controls ------------------------------------------------------------------------------------------

  control.login = function () {
    if (agentObject) { return; }
    agentObject = new Agent();
    agentCallbacks.slice().forEach(function (callback) { callback(agentObject); });
  };
  // A voice contact is detected connecting ("INCOMING … is skipped for ContactType.VOICE contacts"); a queued
  // callback is detected incoming and connects once accepted ("onConnecting's handler is started after the callback
  // is accepted").
  control.ring = function (spec) {
    var contact = new Contact(spec);
    contacts[spec.contactId] = contact;
    contactCallbacks.slice().forEach(function (callback) { callback(contact); });
    if (contact.getType() === ContactType.QUEUE_CALLBACK) {
      contact._become(ContactStateType.INCOMING, ["incoming"]);
    } else {
      contact._become(ContactStateType.CONNECTING, ["connecting"]);
    }
    return spec.contactId;
  };
  control.accept = function (contactId) {
    contacts[contactId]._become(ContactStateType.CONNECTING, ["accepted", "connecting"]);
  };
  control.answer = function (contactId) {
    contacts[contactId]._become(ContactStateType.CONNECTED, ["accepted", "connected"]);
  };
  control.end = function (contactId) {
    contacts[contactId]._become(ContactStateType.ENDED, ["ended", "acw"]);
  };
  control.miss = function (contactId) {
    contacts[contactId]._become(ContactStateType.MISSED, ["missed", "ended"]);
  };
  control.dialOut = function (contactId) {
    var last = control.dialed[control.dialed.length - 1];
    return control.ring({ contactId: contactId, phoneNumber: last.phoneNumber, inbound: false });
  };
  window.connectStandin = control;
})();
