"""Whatever a vendor (or someone holding its secret) sends, the adapters answer 200 or 400, never a 5xx, and what
they accept can be logged.

Each case starts from a genuine delivery of the vendor's format (the adapter's demo delivery of an ended call),
replaces one value anywhere in it with something the vendor never documented (null, a number where text was,
text with NUL or a lone surrogate, huge numbers, nesting, …), signs it again the vendor's way, and posts it. The
signing here is written from the vendors' documentation (docs/dialers.md cites each scheme), not taken from the
adapters. A 503 would mean an adapter raised something no rule foresaw: the vendor would retry it for days.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from calls_support import run_queued
from dialers_support import AGENT, post_delivery, secret
from panel.dialers import registry
from panel.dialers.base import DemoCall

URL = "http://localhost/webhooks/"
# Values inside the body that verification reads (a signed time): changed, the delivery may be refused (401).
SIGNED_TIME = {"webex": {("comciscotimestamp",)}}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign_zoom(body: bytes) -> dict:
    """developers.zoom.us/docs/api/webhooks: v0= hex HMAC-SHA256 of "v0:{timestamp}:{body}"."""
    stamp = str(int(time.time()))
    digest = hmac.new(secret("zoom").encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"x-zm-request-timestamp": stamp, "x-zm-signature": f"v0={digest}"}


def jwt_dialpad(payload: bytes) -> bytes:
    """developers.dialpad.com/docs/webhook-signatures: the body is a JWT signed HS256 with the webhook's secret."""
    signing_input = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + _b64url(payload)
    mac = hmac.new(secret("dialpad").encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(mac)}".encode()


def sign_webex(body: bytes) -> dict:
    """developer.webex.com contact center webhooks: hex HMAC-SHA256 of the raw body with the subscription secret."""
    return {"X-WebexCC-Signature": hmac.new(secret("webex").encode(), body, hashlib.sha256).hexdigest()}


def sign_twilio(url: str, fields: list[tuple[str, str]]) -> dict:
    """twilio.com/docs/usage/webhooks/webhooks-security: base64 HMAC-SHA1 of the URL and the sorted parameters."""
    data = url + "".join(name + value for name, value in sorted(fields))
    return {"X-Twilio-Signature": base64.b64encode(
        hmac.new(secret("twilio").encode(), data.encode(), hashlib.sha1).digest()).decode()}


def genuine(dialer: str) -> tuple[object, str]:
    """The vendor's delivery of an ended, answered call: its decoded document (a dict, or form pairs) and type."""
    module = registry.adapter(dialer)
    call = DemoCall(call_id="CA" + "0" * 32 if dialer == "twilio" else "demo-garbage-1", direction="inbound",
                    number="03-1234-5678", agent_email=AGENT, answered=True, duration_seconds=60,
                    started_at=datetime.now(timezone.utc) - timedelta(minutes=2))
    extra = {"header": "x-api-key" if dialer == "connect" else "Authorization"} if module.SETTINGS else {}
    body, _headers, content_type = module.demo_delivery("ended", call, secret=secret(dialer), url=URL + dialer,
                                                        now=datetime.now(timezone.utc), **extra)
    if content_type == "application/x-www-form-urlencoded":
        return parse_qsl(body.decode()), content_type
    if content_type == "application/jwt":
        payload = body.decode().split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))), content_type
    return json.loads(body), content_type


def deliver(client, dialer: str, document, content_type: str):
    if content_type == "application/x-www-form-urlencoded":
        fields = [(str(name), str(value)) for name, value in document]
        # a lone surrogate travels as the bytes it would be (not UTF-8), which no signature covers
        body = urlencode(fields, errors="surrogatepass")
        signed = {} if any("\ud800" <= char <= "\udfff" for _name, value in fields for char in value) \
            else sign_twilio(URL + dialer, fields)
        return post_delivery(client, dialer, body, signed, content_type=content_type)
    raw = json.dumps(document).encode()  # ensure_ascii: a lone surrogate travels as its \ud800 escape
    headers: dict = {}
    if dialer == "zoom":
        headers = sign_zoom(raw)
    elif dialer == "dialpad":
        raw = jwt_dialpad(raw)
    elif dialer == "webex":
        headers = sign_webex(raw)
    elif dialer == "ringcentral":
        headers = {"Verification-Token": secret(dialer)}
    elif dialer == "aircall" and isinstance(document, dict):
        document["token"] = secret(dialer)
        raw = json.dumps(document).encode()
    elif dialer == "connect":
        headers = {"x-api-key": secret(dialer)}
    elif dialer == "miitel":
        headers = {"Authorization": f"Bearer {secret(dialer)}"}
    return post_delivery(client, dialer, raw, headers, content_type=content_type)


def paths(document, prefix=()):
    """Every place in a JSON document: each key's value and each list item."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index))


def replaced(document, path, value):
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


ODD_TEXT = st.sampled_from(["", " ", "\x00", "\ud800", "a\nb", "9" * 5000, "-1", "1e309", "NaN", "null",
                            "2026-13-45T99:99:99Z", "０３－１２３４－５６７８", "javascript:alert(1)"])
ODD = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                st.floats(allow_nan=False, allow_infinity=False), ODD_TEXT, st.text(max_size=30),
                st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


@pytest.mark.parametrize("dialer", registry.DIALERS)
def test_a_genuine_delivery_with_any_value_changed_is_answered_200_or_400(app, client, dialer):
    document, content_type = genuine(dialer)
    places = list(range(len(document))) if isinstance(document, list) else list(paths(document))
    untouched = deliver(client, dialer, document, content_type)
    assert untouched.status_code == 200, untouched.get_data(as_text=True)
    assert untouched.get_json()["stored"] >= 1 if untouched.is_json else "<Response" in untouched.get_data(as_text=True)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
    @given(place=st.sampled_from(places), value=ODD)
    def check(place, value):
        if isinstance(document, list):  # form fields: every value arrives as text
            name, _old = document[place]
            changed = [*document[:place], (name, "" if value is None else str(value)), *document[place + 1:]]
        else:
            changed = replaced(document, place, value)
        answer = deliver(client, dialer, changed, content_type)
        unsigned = isinstance(value, str) and any("\ud800" <= char <= "\udfff" for char in value) \
            and isinstance(document, list)  # (a form that cannot be signed: refused as unsigned)
        expected = (400, 401) if unsigned else (200, 400, 401) if place in SIGNED_TIME.get(dialer, ()) else (200, 400)
        assert answer.status_code in expected, (place, value, answer.status_code, answer.get_data(as_text=True))

    check()
    run_queued(app)  # whatever was accepted can be worked on: a job that raised would fail the test here
