/* Aircall Everywhere on the softphone page (host.js does the origin checks and talks to the panel).
 *
 * The SDK is vendored from npm (static/vendor/aircall-everywhere-2.0.6, ISC); its README
 * (github.com/aircall/aircall-everywhere README.md, "events from the workspace" / "events the workspace listens to"):
 * - `incoming_call` {from, to, call_id}; `call_end_ringtone` {answer_status: "answered" | "disconnected" |
 *   "refused", call_id}; `outgoing_call` {from, to, call_id}; `outgoing_answered` {call_id}; `call_ended`
 *   {duration, call_id}; numbers in E.164, `call_id` a number;
 * - `send("dial_number", {phone_number})` asks the workspace to dial.
 * On the wire (src/javascripts/aircallWorkspace.js) the workspace posts {name: "apm_phone_<event>", value} and the
 * SDK {name: "apm_app_<event>", value}. The SDK itself checks no origin: it is handed a window whose message
 * listener only passes on messages from the workspace's frame and configured origin. The SDK would frame the
 * workspace with an inline style attribute, which the page's CSP refuses, so the page frames `getUrlToLoad()`
 * itself. The server-side adapter files a call under `aircall:<id>` (panel/dialers/aircall.py); that the SDK's
 * `call_id` is the REST/webhook call `id` is assumed, not documented.
 */
(function () {
  "use strict";

  var Workspace = window.module && (window.module.exports["default"] || window.module.exports);
  var calls = {};       // call_id → {phone, direction}, from the call's first event

  function tell(host, callId, state) {
    var known = calls[callId];
    if (known) { host.call(callId, known.phone, known.direction, state); }
  }

  function filteredWindow(host) {
    return {
      addEventListener: function (type, listener, options) {
        window.addEventListener(type, function (event) {
          if (host.fromPhone(event)) { listener(event); }
        }, options);
      }
    };
  }

  function frameWorkspace(host, workspace) {
    var container = document.getElementById("softphone-container");
    var frame = document.createElement("iframe");
    frame.className = "softphone-frame";
    frame.title = "Aircall";
    frame.setAttribute("allow", container.getAttribute("data-allow"));
    frame.src = workspace.getUrlToLoad();
    container.appendChild(frame);
  }

  window.Softphone.start({
    init: function (host) {
      if (typeof Workspace !== "function") { return; }
      var workspace = new Workspace({ window: filteredWindow(host), debug: false,
                                      onLogin: function () {}, onLogout: function () {} });
      workspace.workspaceUrl = document.getElementById("softphone").getAttribute("data-embed-url");
      this.workspace = workspace;
      workspace.on("incoming_call", function (call) {
        if (!call) { return; }
        calls[call.call_id] = { phone: call.from, direction: "inbound" };
        host.call(call.call_id, call.from, "inbound", "ringing");
      });
      workspace.on("call_end_ringtone", function (call) {
        if (call && call.answer_status === "answered") {
          tell(host, call.call_id, "answered");
        }
      });
      workspace.on("outgoing_call", function (call) {
        if (!call) { return; }
        calls[call.call_id] = { phone: call.to, direction: "outbound" };
        host.call(call.call_id, call.to, "outbound", "ringing");
      });
      workspace.on("outgoing_answered", function (call) {
        if (call) { tell(host, call.call_id, "answered"); }
      });
      workspace.on("call_ended", function (call) {
        if (call) { tell(host, call.call_id, "ended"); }
      });
      frameWorkspace(host, workspace);
    },
    dial: function (phone) {
      if (this.workspace) { this.workspace.send("dial_number", { phone_number: phone }, function () {}); }
    }
  });
})();
