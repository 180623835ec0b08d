/* Shared by the stand-in pages (tests/browser/test_softphone.py): what the host page posts to this frame is kept in
 * `window.received` (with the sender's origin); `send(message)` posts to the host the way the vendors' pages do
 * (RingCentral's requestWithPostMessage and Dialpad's CTI post with target "*"). */
window.received = [];
window.addEventListener("message", function (event) {
  if (event.source !== window.parent) { return; }
  window.received.push({ origin: event.origin, data: event.data });
});
window.send = function (message) { window.parent.postMessage(message, "*"); };
