"""MiiTel: the outgoing webhook for call history (応対履歴), after the call only.

MiiTel posts a call's history to the configured URL when it is ready: when the voice analysis (transcription) of a
call is done, when minutes (議事録, an AI summary) are done, and for calls nobody talked on — a missed incoming call,
an unanswered outgoing or predictive call, an unanswered automatic forward — and when a caller enters an IVR number.
There is no ringing or answered event: MiiTel **logs the call, it cannot pop** (a pop needs the MiiTel widget's own
events). One delivery:

    {"call": {"id": <the call>, "tenant_code": ...,
              "details": [{"id": <a leg>, "call_type": "INCOMING_CALL" | "OUTGOING_CALL" | ...,
                           "dial_starts_at", "dial_answered_at" (null: nobody answered), "dial_ends_at",
                           "from_number", "to_number", "circuit_number", "previous_id",
                           "participants": [{"from_to": "FROM" | "TO", "name", "login_id" (the MiiTel user's
                                             e-mail; null for the customer)}, ...],
                           "speech_recognition": {"raw": <transcript>, "summary": ...},
                           "minutes": <AI minutes, in the minutes-done delivery>, ...}]},
     <the setting's additional payload, e.g. "params_key">}

Sources (each fact below was looked up there):
- The outgoing webhook for call history, its triggers, the challenge and the additional headers:
  https://developers.miitel.com/docs/outgoing-webhook-callhistory (the former copy:
  https://support.miitel.jp/hc/en-us/articles/13050493066905-Outgoing-Webhook-call-history)
- The payload's JSON schemas and samples, published by MiiTel (RevComm):
  https://github.com/revcomm/miitel-developers-public/tree/main/schema/outgoing_webhook
  (`call_analysis_completed`, `call_summarization_completed`)
- Redeliveries (the same data may arrive several times; with a fixed IP address MiiTel resends the last ~15 minutes
  every 10 minutes) and `speech_recognition.summary` being empty since 2025-06-19: a receiving sample that cites
  the specification, https://github.com/okmtdev/miitel-integration-examples/tree/main/outgoing-webhook/python
  (second-hand; unconfirmed on MiiTel's own pages as stored).

The challenge: when the admin saves the setting, MiiTel posts `{"challenge": "<hex_token>", ...}` and expects
`200`, `Content-Type: text/plain`, the token alone as the body; the setting is not saved otherwise. It is answered
without checking the header (whether MiiTel sends the additional headers with the challenge is unconfirmed; the
answer only echoes a hex token and stores nothing).

Verification: MiiTel signs nothing; the admin adds headers (JSON) to the setting, documented as a Bearer token or
BASIC credentials, e.g. `{"Authorization": "Bearer ACCESSTOKEN"}`. The panel reads the header named by
PANEL_MIITEL_WEBHOOK_HEADER (default `Authorization`) and accepts `Bearer <PANEL_MIITEL_WEBHOOK_TOKEN>` or the token
itself (for a custom header such as `X-Panel-Token`), compared in constant time; anything else → 401, nothing stored.
No signed timestamp: no staleness check.

Mapping, for each entry of `call.details` (a leg; a forwarded or transferred call has several, linked by
`previous_id`):
- `call.ended`: `event_id` `miitel:<detail id>:ended`, `call_id` `miitel:<call.id>`, `leg_id` `miitel:<detail id>`;
  `answered` = `dial_answered_at` is set (missed incoming / unanswered outgoing → False); `duration_seconds` =
  `dial_ends_at` − `dial_answered_at`; `occurred_at` = `dial_ends_at`. MiiTel sends a call again with each later
  fact and in its bulk resends: the same ids make those duplicates.
- `call.transcript` (`miitel:<detail id>:transcript`): `speech_recognition.raw` when not empty, cut at 32,000
  characters (a Task's Description holds no more).
- `call.summary` (`miitel:<detail id>:summary`): `minutes` when not empty. `speech_recognition.summary` is a
  shortened transcript, not a summary (and empty since 2025-06-19): not used.
- No recording: the payload carries no recording link (none in the published schemas).
- Direction by `call_type`: OUTGOING_CALL, PREDICTIVE_DIAL, OUTGOING_TRANSFER → outbound, the customer in
  `to_number`; INCOMING_CALL, INCOMING_CALL_USER, QUEUEING_CALL, AUTOMATIC_TRANSFER → inbound, the customer in
  `from_number`; EXTENSION, EXTENSION_GROUP, EXTENSION_TRANSFER, EXTENSION_GROUP_TRANSFER → internal calls (logged
  only with PANEL_LOG_INTERNAL_CALLS). READ_DTMF (an IVR input), AUTOMATIC_RECORD and types MiiTel may add → that
  leg is skipped (what AUTOMATIC_RECORD stands for is unconfirmed).
- The agent: the participant with a `login_id` (the MiiTel user's login, an e-mail address), the caller's side
  (`FROM`) of an outbound call and the callee's side (`TO`) of an inbound one first. A PANEL_DIALER_USERS row's
  `dialer_user` is that login id (needed only when it is not the agent's Salesforce e-mail) or, for payloads
  without `login_id` (older ones), the user's display name.
- A delivery without `call` (e.g. meeting history, `video`) stores nothing.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from panel.calls.events import MAX_DURATION_SECONDS, MAX_FACT_TEXT, CallEvent, EventError, identifier_problem
from panel.dialers.base import AdapterConfig, DemoCall, Delivery, Refused, Reply, constant_time_equal, namespaced
from panel.dialers.reading import free_text, identifier, iso_moment, json_object, phone_number

__all__ = ["MAX_BODY_BYTES", "NAME", "SECRET", "SECRETS", "SETTINGS", "demo_delivery", "receive"]

NAME = "miitel"
SECRET = "PANEL_MIITEL_WEBHOOK_TOKEN"
SECRETS = ()
SETTINGS = ("PANEL_MIITEL_WEBHOOK_HEADER",)
# A long call's transcript comes twice (speech_recognition and the phrases, unless the admin leaves the phrases
# out): a few MB at most.
MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_HEADER = "Authorization"

_OUTBOUND = frozenset({"OUTGOING_CALL", "PREDICTIVE_DIAL", "OUTGOING_TRANSFER"})
_INBOUND = frozenset({"INCOMING_CALL", "INCOMING_CALL_USER", "QUEUEING_CALL", "AUTOMATIC_TRANSFER"})
_INTERNAL = frozenset({"EXTENSION", "EXTENSION_GROUP", "EXTENSION_TRANSFER", "EXTENSION_GROUP_TRANSFER"})
_HEX_TOKEN = re.compile(r"^[0-9A-Fa-f]{1,256}$")


def receive(delivery: Delivery, config: AdapterConfig) -> Reply | list[CallEvent]:
    """The challenge's answer, or the panel's events in one call-history delivery; `Refused` / `EventError`."""
    data = json_object(delivery.body)
    if "challenge" in data:
        return _challenge(data["challenge"])
    _verify(delivery, config)
    call = data.get("call")
    if call is None:
        return []  # meeting history (`video`) or a kind the panel does not log
    if not isinstance(call, dict):
        raise EventError("call must be an object", "call")
    call_id = identifier(call.get("id"), "call.id")
    details = call.get("details")
    if not isinstance(details, list):
        raise EventError("call.details is missing", "call.details")
    events: list[CallEvent] = []
    for index, detail in enumerate(details):
        events.extend(_leg(call_id, detail, f"call.details[{index}]", config))
    return events


def _challenge(token: Any) -> Reply:
    if not isinstance(token, str) or not _HEX_TOKEN.match(token):
        raise EventError("challenge must be a hex token", "challenge")
    return Reply(status=200, body=token)  # a str body is sent as text/plain


def _verify(delivery: Delivery, config: AdapterConfig) -> None:
    header = str(config.settings.get("PANEL_MIITEL_WEBHOOK_HEADER") or DEFAULT_HEADER)
    token = config.secrets.get(SECRET)
    given = delivery.header(header)
    if not token or given is None:
        raise Refused(f"the {header} header does not carry the webhook token")
    # Both comparisons always run: which form matched does not show in the time taken.
    bearer = constant_time_equal(f"Bearer {token}", given.strip())
    bare = constant_time_equal(token, given.strip())
    if not (bearer or bare):
        raise Refused(f"the {header} header does not carry the webhook token")


def _leg(call_id: str, detail: Any, path: str, config: AdapterConfig) -> list[CallEvent]:
    """The events of one leg (`call.details[i]`): its end, then its transcript and summary when present."""
    if not isinstance(detail, dict):
        raise EventError(f"{path} must be an object", path)
    call_type = detail.get("call_type")
    if not isinstance(call_type, str) or not call_type:
        raise EventError(f"{path}.call_type is missing", f"{path}.call_type")
    if call_type in _OUTBOUND or call_type in _INTERNAL:
        direction, number_field = "outbound", "to_number"
    elif call_type in _INBOUND:
        direction, number_field = "inbound", "from_number"
    else:
        return []  # READ_DTMF (an IVR input), AUTOMATIC_RECORD, types MiiTel may add
    leg_id = identifier(detail.get("id"), f"{path}.id")
    ended_at = _moment(detail.get("dial_ends_at"), f"{path}.dial_ends_at", required=True)
    answered_at = _moment(detail.get("dial_answered_at"), f"{path}.dial_answered_at")
    agent_email, agent_ref = config.agent(*_agent_names(detail.get("participants"), direction))
    seconds = 0 if answered_at is None else int((ended_at - answered_at).total_seconds())
    common: dict[str, Any] = dict(
        call_id=namespaced(NAME, call_id), leg_id=namespaced(NAME, leg_id), direction=direction,
        internal=call_type in _INTERNAL, agent_email=agent_email, agent_ref=agent_ref,
        external_number=_number(detail.get(number_field), f"{path}.{number_field}"), occurred_at=ended_at)
    for name in ("call_id", "leg_id"):
        problem = identifier_problem(name, common[name])
        if problem:
            raise EventError(problem, f"{path}.id" if name == "leg_id" else "call.id")
    events = [CallEvent(event_id=_event_id(leg_id, "ended"), type="call.ended", answered=answered_at is not None,
                        duration_seconds=min(max(seconds, 0), MAX_DURATION_SECONDS), **common)]
    recognition = detail.get("speech_recognition")
    transcript = _text(recognition.get("raw") if isinstance(recognition, dict) else None,
                       f"{path}.speech_recognition.raw")
    if transcript:
        events.append(CallEvent(event_id=_event_id(leg_id, "transcript"), type="call.transcript",
                                transcript=transcript[:MAX_FACT_TEXT], **common))
    minutes = _text(detail.get("minutes"), f"{path}.minutes")
    if minutes:
        events.append(CallEvent(event_id=_event_id(leg_id, "summary"), type="call.summary",
                                summary=minutes[:MAX_FACT_TEXT], **common))
    return events


def _event_id(leg_id: str, fact: str) -> str:
    event_id = namespaced(NAME, f"{leg_id}:{fact}")
    if identifier_problem("event_id", event_id):
        raise EventError("the detail's id is too long", "call.details.id")
    return event_id


def _agent_names(participants: Any, direction: str) -> list[str | None]:
    """The MiiTel user's identities, most specific first: login ids (e-mail), then display names; the agent's own
    side of the call (FROM outbound, TO inbound) before the other."""
    if not isinstance(participants, list):
        return []
    own_side = "FROM" if direction == "outbound" else "TO"
    people = [p for p in participants if isinstance(p, dict)]
    people.sort(key=lambda p: p.get("from_to") != own_side)
    logins = [p.get("login_id") for p in people if isinstance(p.get("login_id"), str)]
    names = [p.get("name") for p in people if isinstance(p.get("name"), str) and p.get("from_to") == own_side]
    return [value for value in [*logins, *names] if value and value.strip() and value.isprintable()]


def _moment(value: Any, field_name: str, *, required: bool = False) -> datetime | None:
    """An ISO 8601 time with its offset (MiiTel writes `2022-12-09T03:41:48+00:00`)."""
    if value is None or value == "":
        if required:
            raise EventError(f"{field_name} is missing", field_name)
        return None
    return iso_moment(value, field_name, "2022-12-09T03:41:48+00:00")


def _number(value: Any, field_name: str) -> str:
    """The other party's number as MiiTel sends it; "" when MiiTel has none (a withheld caller)."""
    return phone_number(value, field_name).strip()


def _text(value: Any, field_name: str) -> str | None:
    """Free text (a transcript, minutes): line breaks and tabs kept, other control characters dropped."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError(f"{field_name} must be a string", field_name)
    return free_text(value).strip() or None


def demo_delivery(kind: str, call: DemoCall, *, secret: str, url: str, now: datetime,
                  header: str = DEFAULT_HEADER) -> tuple[bytes, dict, str] | None:
    """The demo's call as MiiTel posts it after the call; MiiTel sends nothing while a call rings or is answered."""
    if kind != "ended":
        return None
    outbound = call.direction == "outbound"
    ended_at = call.started_at + timedelta(seconds=call.duration_seconds + 5)
    agent = {"id": f"{call.call_id}-agent", "from_to": "FROM" if outbound else "TO", "name": "Demo Agent",
             "company_name": None, "login_id": call.agent_email}
    customer = {"id": f"{call.call_id}-customer", "from_to": "TO" if outbound else "FROM", "name": None,
                "company_name": None, "login_id": None}
    detail = {
        "id": call.call_id, "call_type": "OUTGOING_CALL" if outbound else "INCOMING_CALL",
        "dial_starts_at": _stamp(call.started_at),
        "dial_answered_at": _stamp(call.started_at + timedelta(seconds=5)) if call.answered else None,
        "dial_ends_at": _stamp(ended_at), "queueing_starts_at": None, "queueing_answered_at": None,
        "queueing_ends_at": None, "circuit_number": "050-0000-0000", "circuit_name": "Demo line",
        "from_number": None if outbound else call.number, "to_number": call.number if outbound else "050-0000-0000",
        "previous_id": None, "participants": [agent, customer],
        "speech_recognition": {"raw": "", "summary": ""},
    }
    body = {"call": {"id": call.call_id, "tenant_code": "demo", "details": [detail]}}
    return json.dumps(body, ensure_ascii=False).encode(), {header: f"Bearer {secret}"}, "application/json"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")
