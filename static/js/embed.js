/* Embedding: the panel inside a dialer's cross-site iframe (docs/embedding.md).
 *
 * - postMessage with the dialer page, both ways, only with origins in PANEL_FRAME_ANCESTORS (read from the
 *   <meta name="panel-allowed-origins"> that base.html renders):
 *     host → panel  {type: "panel:call", callId, phone, direction, state: "ringing" | "answered" | "ended"}
 *     panel → host  {type: "panel:ready"}  and  {type: "panel:dial", phone: "<E.164>"} (click-to-dial)
 * - The call on screen: its state and elapsed time in the caller's header, the note field focused on answer, and
 *   after the end where the call went (GET /panel/calls/<id>/status, a fragment that polls itself until final).
 * - Sign-in through a popup (Salesforce's login cannot be framed): the popup hands a one-time code back to this
 *   window, which trades it at /embed/exchange for a session. When the partitioned cookie does not stick, the
 *   short-lived token stays in this script's memory and rides on every htmx request (X-Panel-Session).
 * No inline script anywhere: the Content-Security-Policy forbids it.
 */
(function () {
  "use strict";

  var TOKEN_HEADER = "X-Panel-Session";
  var framed = window.parent !== window;
  var token = null;          // the in-memory session token (only when the cookie does not work)
  var csrfToken = null;      // the CSRF token of the session the exchange started
  var keepAlive = null;
  var hostOrigin = null;     // the dialer page's origin, once known and allowed
  var pendingCall = null;    // a call that arrived before the panel could show it
  var currentCall = null;
  var answeredAt = null;     // when the current call was answered (this browser's clock), for the elapsed time
  var endedAt = null;
  var clock = null;          // ticks the elapsed time in the caller header while the call is on
  var popup = null;

  // -- origins ----------------------------------------------------------------------------------------------------

  function allowedSources() {
    var meta = document.querySelector('meta[name="panel-allowed-origins"]');
    if (!meta) { return []; }
    try { return JSON.parse(meta.getAttribute("content") || "[]"); } catch (e) { return []; }
  }

  function parseOrigin(origin) {
    var match = /^([a-z][a-z0-9+.-]*):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?$/i.exec(origin || "");
    if (!match) { return null; }
    var scheme = match[1].toLowerCase();
    var port = match[3] || (scheme === "https" ? "443" : scheme === "http" ? "80" : "");
    return { scheme: scheme, host: match[2].toLowerCase(), port: port };
  }

  // One CSP host-source ("https://dialer.example.com", "http://localhost:*", "https://*.example.com") against
  // an origin. A source without a scheme matches the panel's own scheme (and https when the panel is on http).
  function sourceMatches(source, origin) {
    var found = parseOrigin(origin);
    var match = /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\*\.[^:/]+|\[[^\]]+\]|[^:/*]+)(?::(\d+|\*))?\/?$/i.exec(source);
    if (!found || !match) { return false; }
    var scheme = (match[1] || "").toLowerCase();
    if (scheme) {
      if (scheme !== found.scheme && !(scheme === "http" && found.scheme === "https")) { return false; }
    } else if (found.scheme !== location.protocol.replace(":", "") && found.scheme !== "https") {
      return false;
    }
    var host = match[2].toLowerCase();
    if (host.indexOf("*.") === 0) {
      var suffix = host.slice(1);
      if (found.host.length <= suffix.length || found.host.slice(-suffix.length) !== suffix) { return false; }
    } else if (host !== found.host) {
      return false;
    }
    var port = match[3] || (scheme === "https" || (!scheme && found.scheme === "https") ? "443" : "80");
    return port === "*" || port === found.port;
  }

  function isAllowedOrigin(origin) {
    if (!origin || origin === "null") { return false; }
    // The panel's own pages (the softphone page, docs/softphones.md) may always host it.
    if (origin === location.origin) { return true; }
    return allowedSources().some(function (source) { return sourceMatches(source, origin); });
  }

  // Where the dialer page lives: the browser says so (ancestorOrigins, or the referrer of the first load);
  // otherwise we learn it from the first allowed message. Never guessed, never "*".
  function findHostOrigin() {
    if (!framed) { return null; }
    var candidates = [];
    if (window.location.ancestorOrigins && window.location.ancestorOrigins.length) {
      candidates.push(window.location.ancestorOrigins[0]);
    }
    if (document.referrer) {
      try { candidates.push(new URL(document.referrer).origin); } catch (e) { /* not a URL */ }
    }
    for (var i = 0; i < candidates.length; i++) {
      if (candidates[i] !== location.origin && isAllowedOrigin(candidates[i])) { return candidates[i]; }
    }
    return null;
  }

  function postToHost(message) {
    if (framed && hostOrigin) { window.parent.postMessage(message, hostOrigin); }
  }

  // -- the session: cookie or in-memory token -----------------------------------------------------------------------

  function remember(answerToken, answerCsrf) {
    if (answerToken) { token = answerToken; }
    if (answerCsrf) {
      csrfToken = answerCsrf;
      document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": answerCsrf }));
    }
  }

  function refreshToken() {
    if (!token) { return; }
    var headers = {};
    headers[TOKEN_HEADER] = token;
    fetch("/embed/session", { headers: headers, credentials: "same-origin" }).then(function (answer) {
      remember(answer.headers.get(TOKEN_HEADER));
      return answer.json();
    }).then(function (state) {
      if (state && !state.signed_in) { token = null; }
    }).catch(function () { /* offline for a moment: the next request or tick tries again */ });
  }

  function useToken(newToken, expiresIn) {
    token = newToken;
    if (keepAlive) { window.clearInterval(keepAlive); }
    // Refresh well before it expires, so an open panel stays signed in and a closed one forgets it.
    keepAlive = window.setInterval(refreshToken, Math.max(10, (expiresIn || 900) / 3) * 1000);
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (token) { event.detail.headers[TOKEN_HEADER] = token; }
    if (csrfToken) { event.detail.headers["X-CSRFToken"] = csrfToken; }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (token && xhr) { remember(xhr.getResponseHeader(TOKEN_HEADER)); }
  });

  // A plain (non-htmx) form in token mode would arrive without the token: send it through htmx instead.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!token || !window.htmx || !form || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) { return; }
    event.preventDefault();
    window.htmx.ajax((form.getAttribute("method") || "GET").toUpperCase(), form.getAttribute("action") || location.pathname,
                     { source: form, target: "body", swap: "innerHTML" });
  }, true);

  // A request found the session gone or the grant revoked (401 + HX-Redirect to sign-in). In the frame, keep the
  // call on screen through the sign-in prompt: it comes back once the agent has reconnected.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail && event.detail.xhr;
    var target = xhr && xhr.status === 401 && xhr.getResponseHeader("HX-Redirect");
    if (!framed || !target || !currentCall || target.indexOf("next=") !== -1) { return; }
    event.preventDefault();
    location.href = target + (target.indexOf("?") === -1 ? "?" : "&") + "next=" + encodeURIComponent(callUrl(currentCall));
  });

  // -- sign-in through the popup ---------------------------------------------------------------------------------

  function setSignInStatus(key) {
    var status = document.getElementById("sign-in-status");
    if (status) { status.textContent = status.getAttribute("data-" + key) || ""; }
  }

  function nextPage() {
    var prompt = document.querySelector("[data-next]");
    var next = (prompt && prompt.getAttribute("data-next")) || "/panel";
    if (pendingCall && next.split("?")[0] === "/panel") { next = callUrl(pendingCall); }
    return next;
  }

  function exchange(code) {
    fetch("/embed/exchange", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: code })
    }).then(function (answer) {
      if (!answer.ok) { throw new Error("exchange refused"); }
      return answer.json();
    }).then(function (session) {
      // Does the partitioned cookie work here? Ask without the token.
      return fetch("/embed/session", { credentials: "same-origin" }).then(function (answer) {
        return answer.json();
      }).then(function (state) {
        if (state.signed_in) {
          location.replace(nextPage());          // the cookie carries the session: a normal page load
          return;
        }
        useToken(session.token, session.expires_in);   // no cookie: the token in memory, on every request
        remember(null, session.csrf_token);
        document.documentElement.setAttribute("data-session", "token");
        // The whole panel page first (an htmx request for a pop URL answers only the pop, which would leave the
        // page without its call status and outcome), then the pop it was asked for.
        var next = nextPage();
        var popUrl = next.split("?")[0] === "/panel" && next.indexOf("?") !== -1 ? next : null;
        window.htmx.ajax("GET", popUrl ? "/panel" : next, { target: "body", swap: "innerHTML" }).then(function () {
          remember(null, session.csrf_token);
          announceReady();
          if (pendingCall) { var call = pendingCall; pendingCall = null; showCall(call); }
          else if (popUrl) { window.htmx.ajax("GET", popUrl, { target: "#pop", swap: "outerHTML" }); }
        });
      });
    }).catch(function () { setSignInStatus("failed"); });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-sign-in]");
    if (!button || !framed) { return; }       // outside a frame the link signs in in this window
    event.preventDefault();
    popup = window.open(button.getAttribute("data-sign-in"), "panel-sign-in", "popup=yes,width=520,height=680");
    setSignInStatus(popup ? "waiting" : "popup-blocked");
  });

  window.addEventListener("message", function (event) {
    // The popup: same origin as this panel, and the very window we opened.
    if (event.origin === location.origin && popup && event.source === popup) {
      if (event.data && event.data.type === "panel:sign-in-code" && typeof event.data.code === "string") {
        exchange(event.data.code);
      }
      return;
    }
    // The dialer page: our parent, from an allowed origin.
    if (!framed || event.source !== window.parent || !isAllowedOrigin(event.origin)) { return; }
    if (!hostOrigin) { hostOrigin = event.origin; announceReady(); }
    if (event.origin !== hostOrigin) { return; }
    var data = event.data;
    if (data && data.type === "panel:call") { showCall(data); }
  });

  // In the popup: hand the code to the panel that opened us (same origin only), then close.
  function handOverCode() {
    var holder = document.getElementById("sign-in-code");
    if (!holder || !window.opener) { return; }
    try {
      window.opener.postMessage({ type: "panel:sign-in-code", code: holder.getAttribute("data-code") }, location.origin);
    } catch (e) { return; }
    window.setTimeout(function () { window.close(); }, 50);
  }

  // -- calls from the dialer ---------------------------------------------------------------------------------------

  var PHONE_MAX = 100;
  var CALL_ID_MAX = 255;

  function cleanCall(data) {
    var phone = typeof data.phone === "string" ? data.phone.trim() : "";
    var callId = typeof data.callId === "string" ? data.callId.trim() : "";
    var direction = data.direction === "outbound" ? "outbound" : "inbound";
    var state = data.state;
    if (!phone || phone.length > PHONE_MAX || callId.length > CALL_ID_MAX) { return null; }
    if (state !== "ringing" && state !== "answered" && state !== "ended") { return null; }
    return { phone: phone, callId: callId, direction: direction, state: state };
  }

  function callUrl(call) {
    var query = "phone=" + encodeURIComponent(call.phone) + "&direction=" + encodeURIComponent(call.direction);
    if (call.callId) { query += "&call_id=" + encodeURIComponent(call.callId); }
    var language = new URLSearchParams(location.search).get("lang");
    if (language) { query += "&lang=" + encodeURIComponent(language); }
    return "/panel?" + query;
  }

  function setCallStatus(call) {
    var status = document.getElementById("call-status");
    if (!status) { return; }
    var key = call.state === "ringing" && call.direction === "outbound" ? "ringing-outbound" : call.state;
    status.textContent = status.getAttribute("data-" + key) || "";
    status.setAttribute("data-state", call.state);
    status.hidden = false;
  }

  function loadPop(call) {
    var url = callUrl(call);
    return window.htmx.ajax("GET", url, { target: "#pop", swap: "outerHTML" }).then(function () {
      // The page's URL names the call, so the task form and a reload know which call is on.
      try { history.replaceState(null, "", url); } catch (e) { /* sandboxed: fine */ }
    });
  }

  // -- the caller header: the call's state and time beside the caller's name (partials/card.html) ----------------

  function elapsedText() {
    if (answeredAt === null) { return ""; }
    var seconds = Math.max(0, Math.floor(((endedAt || Date.now()) - answeredAt) / 1000));
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function showCallerCall() {
    var line = document.querySelector("#card .caller-call");
    if (!line) { return; }
    if (!currentCall) { line.hidden = true; return; }
    line.querySelector(".caller-call-state").textContent = line.getAttribute("data-" + currentCall.state) || "";
    line.querySelector(".caller-elapsed").textContent = elapsedText();
    if (currentCall.state !== "ended") { line.querySelector(".caller-outcome").textContent = ""; }
    line.setAttribute("data-state", currentCall.state);
    line.hidden = false;
  }

  function followClock(call) {
    if (call.state === "answered" && answeredAt === null) { answeredAt = Date.now(); }
    if (call.state === "ended" && endedAt === null) { endedAt = Date.now(); }
    if (clock) { window.clearInterval(clock); clock = null; }
    if (call.state === "answered") { clock = window.setInterval(showCallerCall, 1000); }
  }

  // -- after the end: where the call went (partials/call_outcome.html polls itself until the call is final) --------

  function clearOutcome() {
    var outcome = document.getElementById("call-outcome");
    if (outcome && (outcome.hasAttribute("data-outcome") || !outcome.hidden)) {
      var empty = document.createElement("div");
      empty.id = "call-outcome";
      empty.className = "call-outcome";
      empty.hidden = true;
      outcome.replaceWith(empty);          // a polling fragment taken out of the page asks nothing more
    }
  }

  function followOutcome(call) {
    var outcome = document.getElementById("call-outcome");
    if (!call.callId || !outcome || outcome.getAttribute("data-call-id") === call.callId) { return; }
    window.htmx.ajax("GET", "/panel/calls/" + encodeURIComponent(call.callId) + "/status",
                     { target: "#call-outcome", swap: "outerHTML" });
  }

  function openTaskForm(call, triesLeft) {
    var card = document.getElementById("card");
    var form = document.getElementById("task-form");
    if (!card || !form) {
      if (triesLeft > 0) { window.setTimeout(function () { openTaskForm(call, triesLeft - 1); }, 150); }
      return;
    }
    if (form.tagName === "FORM") { return; }        // already open
    var url = "/panel/records/" + encodeURIComponent(card.getAttribute("data-record-id")) + "/tasks/new?record_type=" +
      encodeURIComponent(card.getAttribute("data-record-type")) +
      (call.callId ? "&call_id=" + encodeURIComponent(call.callId) : "");
    window.htmx.ajax("GET", url, { target: "#task-form", swap: "outerHTML" }).then(focusNotes);
  }

  // The note field takes the focus without the page jumping: the caller's header stays stuck above it, and the
  // page scrolls only as far as it takes to show the field (and its label) below that header.
  function focusNotes() {
    var form = document.getElementById("task-form");
    if (!form || form.tagName !== "FORM") { return; }
    var field = document.getElementById("task-notes") || form.querySelector("textarea, input:not([type=hidden])");
    if (!field) { return; }
    field.focus({ preventScroll: true });
    var header = document.querySelector("#card > .card-header");
    var top = header ? Math.max(0, header.getBoundingClientRect().bottom) : 0;
    var label = form.querySelector('label[for="' + field.id + '"]') || field;
    var from = label.getBoundingClientRect().top - 8;
    var to = field.getBoundingClientRect().bottom + 8;
    if (from < top) {
      window.scrollBy(0, from - top);
    } else if (to > window.innerHeight) {
      window.scrollBy(0, Math.min(to - window.innerHeight, from - top));
    }
  }

  function showCall(data) {
    var call = cleanCall(data);
    if (!call) { return; }
    if (!document.getElementById("pop") || !window.htmx) {
      pendingCall = call;                              // signed out: show it after sign-in
      return;
    }
    var pop = document.getElementById("pop");
    var sameCall = currentCall && currentCall.callId === call.callId && call.callId &&
      pop.getAttribute("data-call-id") === call.callId;
    if (!currentCall || currentCall.callId !== call.callId || !call.callId || call.state === "ringing") {
      answeredAt = null;                               // another call: its own clock, its own outcome
      endedAt = null;
      clearOutcome();
    }
    currentCall = call;
    followClock(call);
    setCallStatus(call);
    pop.setAttribute("data-call-state", call.state);
    if (call.state === "ended") { followOutcome(call); }
    if (call.state === "ringing" || !sameCall) {
      var loading = loadPop(call);
      if (call.state === "answered") { loading.then(function () { openTaskForm(call, 20); }); }
      return;
    }
    showCallerCall();
    if (call.state === "answered") { openTaskForm(call, 20); }
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var pop = document.getElementById("pop");
    if (pop && currentCall) { pop.setAttribute("data-call-state", currentCall.state); }
    showCallerCall();
  });

  // -- click-to-dial ----------------------------------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-dial]");
    if (!link || !framed || !hostOrigin) { return; }   // outside a frame: the tel: link dials
    event.preventDefault();
    postToHost({ type: "panel:dial", phone: link.getAttribute("data-dial") });
  });

  // For dialer vendors checking their setup (and the browser tests): is this origin allowed to talk to the panel?
  window.PanelEmbed = { isAllowedOrigin: isAllowedOrigin };

  // -- start ------------------------------------------------------------------------------------------------------

  function announceReady() {
    postToHost({ type: "panel:ready" });
  }

  function start() {
    handOverCode();
    if (!framed) { return; }
    document.documentElement.setAttribute("data-embedded", "true");
    hostOrigin = findHostOrigin();
    announceReady();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
