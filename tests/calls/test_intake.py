"""POST /webhooks/calls as a dialer meets it: signed, size-limited, idempotent, and never a 500."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from calls_support import SECRET, Dialer, served, signed
from tests.conftest import rows_on_record
from panel.calls.events import MAX_BODY_BYTES


@pytest.fixture
def dialer(client):
    return Dialer(client, "call-webhook-1")


def stored_events(app) -> list[tuple[str, str]]:
    """(event_id, call_id) of every stored event, read over a connection of its own: what is durably there."""
    return [(row["event_id"], row["call_id"])
            for row in rows_on_record(app, "SELECT event_id, call_id FROM call_events ORDER BY id")]


# -- accepted, duplicate ------------------------------------------------------------------------------------------

def test_a_signed_event_is_accepted_once_it_is_stored(app, dialer):
    event = dialer.ringing()
    response = dialer.post(event)
    assert response.status_code == 202 and response.json == {"status": "accepted"}
    assert stored_events(app) == [(event["event_id"], "call-webhook-1")]


def test_the_same_event_again_is_a_duplicate_and_stored_once(app, dialer):
    event = dialer.ended(recording_url="https://dialer.example.com/r/1")
    assert dialer.post(event).status_code == 202
    again = dialer.post(event)
    assert again.status_code == 200 and again.json == {"status": "duplicate"}
    assert len(stored_events(app)) == 1


def test_many_threads_posting_the_same_event_store_it_once(app):
    event = Dialer(None, "call-webhook-race").ended()
    body = json.dumps(event).encode()
    statuses: list[int] = []
    with served(app) as base:
        start = threading.Barrier(12)

        def deliver():
            start.wait()
            statuses.append(requests.post(f"{base}/webhooks/calls", data=body, headers=signed(body),
                                          timeout=30).status_code)

        threads = [threading.Thread(target=deliver) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [200] * 11 + [202]
    assert stored_events(app) == [(event["event_id"], "call-webhook-race")]


# -- invalid events -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    ({"event_id": None}, "event_id"),
    ({"event_id": ""}, "event_id"),
    ({"event_id": 42}, "event_id"),
    ({"type": "call.transferred"}, "type"),
    ({"call_id": "x" * 256}, "call_id"),
    ({"direction": "sideways"}, "direction"),
    ({"internal": "no"}, "internal"),
    ({"agent_email": "not-an-address"}, "agent_email"),
    ({"occurred_at": "2026-11-22T10:15:00"}, "occurred_at"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"answered": None}, "answered"),
    ({"duration_seconds": -1}, "duration_seconds"),
    ({"duration_seconds": "95"}, "duration_seconds"),
    ({"recording_url": "javascript:alert(1)"}, "recording_url"),
    ({"voicemail_url": "ftp://dialer.example.com/v"}, "voicemail_url"),
    ({"disposition": "x" * 256}, "disposition"),
    # accepted once, a NUL made every job of the call fail on PostgreSQL, which refuses it in text
    ({"external_number": "03-1234-5678\x00"}, "external_number"),
    ({"disposition": "\x00"}, "disposition"),
])
def test_an_invalid_field_is_named_in_a_400_and_nothing_is_stored(app, dialer, change, field):
    event = {**dialer.ended(), **change}
    response = dialer.post(event)
    assert response.status_code == 400
    assert response.json["field"] == field and field in response.json["error"]
    assert stored_events(app) == []


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"text"', b"", b"\xff\xfe{}", b'{"a": NaN}', b"[" * 5000])
def test_a_body_that_is_not_one_json_object_is_a_400_naming_no_field(app, client, body):
    response = client.post("/webhooks/calls", data=body, headers=signed(body))
    assert response.status_code == 400
    assert response.json["field"] is None and response.json["error"]
    assert stored_events(app) == []


# -- signatures ---------------------------------------------------------------------------------------------------

def _refused(response) -> bool:
    return response.status_code == 401 and response.json["error"]


@pytest.mark.parametrize("headers", [
    {},
    {"X-Panel-Timestamp": "{now}"},
    {"X-Panel-Signature": "v1={good}"},
    {"X-Panel-Timestamp": "{now}", "X-Panel-Signature": "{good}"},
    {"X-Panel-Timestamp": "{now}", "X-Panel-Signature": "v0={good}"},
    {"X-Panel-Timestamp": "{now}", "X-Panel-Signature": "v1=" + "0" * 64},
    {"X-Panel-Timestamp": "{now}", "X-Panel-Signature": "v1=zz"},
    {"X-Panel-Timestamp": "soon", "X-Panel-Signature": "v1={good}"},
    {"X-Panel-Timestamp": "{now}.5", "X-Panel-Signature": "v1={good}"},
])
def test_a_missing_or_wrong_signature_is_a_401_and_nothing_is_stored(app, dialer, headers):
    body = json.dumps(dialer.ringing()).encode()
    now = int(time.time())
    good = signed(body, timestamp=now)["X-Panel-Signature"].removeprefix("v1=")
    sent = {name: value.format(now=now, good=good) for name, value in headers.items()}
    response = dialer.client.post("/webhooks/calls", data=body,
                                  headers={**sent, "Content-Type": "application/json"})
    assert _refused(response)
    assert stored_events(app) == []


def test_a_signature_by_another_secret_is_refused(app, dialer):
    assert _refused(dialer.post(dialer.ringing(), secrets="not-the-secret"))
    assert stored_events(app) == []


def test_a_body_changed_after_signing_is_refused(app, dialer):
    body = json.dumps(dialer.ringing()).encode()
    headers = signed(body)
    tampered = body.replace(b"03-1234-5678", b"03-9999-9999")
    assert _refused(dialer.client.post("/webhooks/calls", data=tampered, headers=headers))
    assert stored_events(app) == []


@pytest.mark.parametrize("offset_s, accepted", [(-301, False), (-290, True), (290, True), (301, False)])
def test_a_timestamp_more_than_300_seconds_away_is_refused(app, dialer, offset_s, accepted):
    response = dialer.post(dialer.ringing(), timestamp=int(time.time()) + offset_s)
    assert response.status_code == (202 if accepted else 401)
    assert len(stored_events(app)) == (1 if accepted else 0)


def test_during_a_rotation_any_of_several_signatures_may_match(app, dialer):
    response = dialer.post(dialer.ringing(), secrets=["the-next-secret", SECRET])
    assert response.status_code == 202


def test_the_previous_secret_is_honoured_while_it_is_configured(app, dialer):
    app.config.update(PANEL_WEBHOOK_SECRET="the-new-secret", PANEL_WEBHOOK_PREVIOUS_SECRET=SECRET)
    assert dialer.post(dialer.ringing(), secrets=SECRET).status_code == 202
    assert dialer.post(dialer.answered(), secrets="the-new-secret").status_code == 202
    app.config["PANEL_WEBHOOK_PREVIOUS_SECRET"] = None
    assert _refused(dialer.post(dialer.ended(), secrets=SECRET))
    assert len(stored_events(app)) == 2


def test_the_previous_secret_setting_is_read_from_the_environment(monkeypatch, localorg, tmp_path):
    from panel import create_app

    monkeypatch.setenv("PANEL_WEBHOOK_SECRET", "the-new-secret")
    monkeypatch.setenv("PANEL_WEBHOOK_PREVIOUS_SECRET", "the-old-secret")
    rotated = create_app({"TESTING": True, "SECRET_KEY": "k", "LOCALORG_URL": localorg.url,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'rotated.sqlite3'}",
                          "PANEL_JOBS_MEMORY": True})
    dialer = Dialer(rotated.test_client(), "call-rotated")
    assert dialer.post(dialer.ringing(), secrets="the-old-secret").status_code == 202
    assert dialer.post(dialer.answered(), secrets="the-new-secret").status_code == 202
    assert _refused(dialer.post(dialer.ended(), secrets="local-webhook-secret"))


# -- size ---------------------------------------------------------------------------------------------------------

def _padded(event: dict, size: int) -> bytes:
    body = json.dumps(event).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_a_body_of_exactly_64_kib_is_accepted(app, dialer):
    body = _padded(dialer.ringing(), MAX_BODY_BYTES)
    assert len(body) == MAX_BODY_BYTES
    assert dialer.client.post("/webhooks/calls", data=body, headers=signed(body)).status_code == 202


def test_a_body_over_64_kib_is_a_413_and_nothing_is_stored(app, dialer):
    body = _padded(dialer.ringing(), MAX_BODY_BYTES + 1)
    response = dialer.client.post("/webhooks/calls", data=body, headers=signed(body))
    assert response.status_code == 413 and response.json["error"]
    assert stored_events(app) == []


def test_an_oversized_body_sent_in_chunks_without_a_length_is_a_413(app):
    event = Dialer(None, "call-chunked").ringing()
    body = _padded(event, 200_000)
    with served(app) as base:
        response = requests.post(f"{base}/webhooks/calls", data=(body[i:i + 8192] for i in range(0, len(body), 8192)),
                                 headers=signed(body), timeout=30)
    assert response.status_code == 413
    assert stored_events(app) == []


# -- never a 500 --------------------------------------------------------------------------------------------------

_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                            max_leaves=8)
_FIELDS = ("event_id", "type", "call_id", "direction", "internal", "agent_email", "external_number", "occurred_at",
           "answered", "duration_seconds", "recording_url", "voicemail_url", "disposition")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(_FIELDS), _json_values, max_size=4), raw=st.binary(max_size=64),
       use_raw=st.booleans())
def test_whatever_a_signed_caller_sends_the_answer_is_never_a_500(client, changes, raw, use_raw):
    event = {**Dialer(client, "call-fuzz").ended(), **changes}
    body = raw if use_raw else json.dumps(event).encode()
    response = client.post("/webhooks/calls", data=body, headers=signed(body))
    assert response.status_code in (200, 202, 400), response.text
    assert response.is_json


@pytest.mark.parametrize("headers", [
    {"X-Panel-Timestamp": "１２３", "X-Panel-Signature": "v1=abc"},
    {"X-Panel-Timestamp": "9" * 40, "X-Panel-Signature": "v1=abc"},
    {"X-Panel-Timestamp": "-5", "X-Panel-Signature": "v1=,v1,=,,"},
    {"X-Panel-Timestamp": "0", "X-Panel-Signature": "v1=" + "é" * 64},
])
def test_odd_headers_are_refused_not_crashed_on(client, headers):
    response = client.post("/webhooks/calls", data=b"{}", headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 401 and response.is_json


def test_only_post_is_allowed(client):
    assert client.get("/webhooks/calls").status_code == 405


# -- answered in front of Flask -----------------------------------------------------------------------------------

def _every_kind_of_answer(dialer: Dialer) -> list:
    """Accepted, duplicate, invalid, wrongly signed, oversized, unsigned: statuses 202, 200, 400, 401, 413, 401."""
    event = dialer.ringing()
    oversized = _padded(event, MAX_BODY_BYTES + 1)
    return [dialer.post(event), dialer.post(event), dialer.post({**event, "type": "call.unknown"}),
            dialer.post(event, secrets="wrong"),
            dialer.client.post("/webhooks/calls", data=oversized, headers=signed(oversized)),
            dialer.client.post("/webhooks/calls", data=json.dumps(event).encode(),
                               headers={"Content-Type": "application/json"})]


def test_the_flask_route_answers_exactly_as_the_intake_in_front_of_it(app, client):
    """The intake (panel.calls.intake.CallEventIntake) answers before Flask; a request that reaches the blueprint's
    route anyway (an app served without the intake) gets the same status, headers and body."""
    from werkzeug.test import Client

    from panel.extensions import db

    through_intake = _every_kind_of_answer(Dialer(client, "call-webhook-twice"))
    stored_by_intake = stored_events(app)
    with app.app_context():
        db.session.execute(db.text("DELETE FROM call_events"))
        db.session.commit()
    through_flask = _every_kind_of_answer(Dialer(Client(app.wsgi_app.wsgi_app, app.response_class),
                                                 "call-webhook-twice"))
    assert stored_by_intake == stored_events(app) == [("call-webhook-twice:call.ringing:1", "call-webhook-twice")]
    assert [a.status_code for a in through_flask] == [a.status_code for a in through_intake] == [202, 200, 400,
                                                                                                401, 413, 401]
    for by_intake, by_flask in zip(through_intake, through_flask):
        assert by_intake.get_data() == by_flask.get_data()
        assert dict(by_intake.headers) == dict(by_flask.headers)


def test_an_answer_from_the_intake_carries_the_panels_security_headers(dialer):
    headers = dialer.post(dialer.ringing()).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors" in headers["Content-Security-Policy"]
    assert headers["Content-Type"] == "application/json"


def test_an_error_nobody_expected_is_a_json_500_asking_for_the_event_again(app, dialer, monkeypatch, caplog):
    """The one 500 the endpoint can give: a fault in the panel itself (injected here), logged, in JSON."""
    from panel.calls import intake

    def broken(raw):
        raise RuntimeError("a bug")

    monkeypatch.setattr(intake, "parse_event", broken)
    answer = dialer.post(dialer.ringing())
    assert answer.status_code == 500 and answer.json == {"error": "the event could not be handled; send it again"}
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "a call event could not be answered" in caplog.text and stored_events(app) == []


# -- the published contract ---------------------------------------------------------------------------------------

OPENAPI = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs", "openapi.yaml")


@pytest.fixture(scope="module")
def contract():
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    spec, _url = read_from_filename(OPENAPI)
    validate(spec)  # a valid OpenAPI 3.1 document
    return spec


def _schema(contract, name: str):
    from openapi_schema_validator import OAS31Validator

    return OAS31Validator({**contract["components"]["schemas"][name], "components": contract["components"]})


def test_the_documented_examples_are_accepted_and_match_the_event_schema(contract, client):
    operation = contract["paths"]["/webhooks/calls"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert examples
    for example in examples.values():
        event = {**example["value"], "event_id": f"{example['value']['event_id']}-{time.time_ns()}"}
        _schema(contract, "CallEvent").validate(event)
        # Sent as of now: the documented dates would fall outside the accepted window of occurred_at one day.
        event["occurred_at"] = datetime.now(timezone.utc).isoformat()
        body = json.dumps(event).encode()
        assert client.post("/webhooks/calls", data=body, headers=signed(body)).status_code == 202


def test_every_answer_the_endpoint_gives_is_documented_with_its_body(contract, app, dialer):
    responses = contract["paths"]["/webhooks/calls"]["post"]["responses"]
    answers = _every_kind_of_answer(dialer)
    assert [a.status_code for a in answers] == [202, 200, 400, 401, 413, 401]
    for answer in answers:
        documented = responses[str(answer.status_code)]["content"]["application/json"]["schema"]["$ref"]
        _schema(contract, documented.rsplit("/", 1)[1]).validate(answer.json)
    assert set(responses) == {"200", "202", "400", "401", "413", "503"}


# -- no event stalls a call: impossible times and text that is not text --------------------------------------------

def _post_escaped(client, event: dict):
    """The body as a dialer's JSON encoder writes it: lone surrogates as `\\ud800` escapes (UTF-8 cannot hold them)."""
    body = json.dumps(event, ensure_ascii=True).encode("ascii")
    return client.post("/webhooks/calls", data=body, headers=signed(body))


@pytest.mark.parametrize("change, field", [
    # each of these answered 500 on every delivery, so the dialer retried for ever
    ({"external_number": "03-1234-5678\ud800"}, "external_number"),
    ({"disposition": "\udfff"}, "disposition"),
    ({"event_id": "evt-\ud800"}, "event_id"),
    ({"agent_email": "agent@example.com\ud800"}, "agent_email"),
    ({"vendor": {"queue": ["sales", "\ud800"]}}, "vendor.queue[1]"),
])
def test_a_lone_surrogate_in_any_field_is_a_400_naming_it_and_nothing_is_stored(app, client, change, field):
    response = _post_escaped(client, {**Dialer(client, "call-surrogate").ended(), **change})
    assert response.status_code == 400, response.text
    assert response.json["field"] == field and field in response.json["error"]
    assert stored_events(app) == []


@pytest.mark.parametrize("occurred_at", ["9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-23:59",
                                         "0001-01-01T00:00:00+23:59", "1999-12-31T23:59:59+09:00"])
def test_a_time_no_call_can_have_is_a_400_naming_occurred_at_and_nothing_is_stored(app, dialer, occurred_at):
    """Accepted before, these made every job of the call fail (date arithmetic overflowed): the call never logged."""
    response = dialer.post({**dialer.ended(), "occurred_at": occurred_at})
    assert response.status_code == 400
    assert response.json["field"] == "occurred_at" and "occurred_at" in response.json["error"]
    assert stored_events(app) == []


def test_a_call_a_day_ahead_of_the_panels_clock_is_refused_and_a_late_one_is_accepted(app, client):

    now = datetime.now(timezone.utc)
    ahead = Dialer(client, "call-from-tomorrow", start=now + timedelta(days=1, minutes=5))
    assert ahead.post(ahead.ringing()).json["field"] == "occurred_at"
    late = Dialer(client, "call-from-last-year", start=now - timedelta(days=365))
    assert late.post(late.ringing()).status_code == 202
    assert stored_events(app) == [("call-from-last-year:call.ringing:1", "call-from-last-year")]
