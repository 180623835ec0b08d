"""Amazon Connect: contact events, delivered to the panel by an EventBridge API destination.

Amazon Connect publishes a near real-time stream of contact events to Amazon EventBridge; a rule matching
`source: aws.connect`, `detail-type: Amazon Connect Contact Event` with an *API destination* as its target POSTs each
event, as EventBridge wraps it, to `https://<panel>/webhooks/connect`:

    {"version": "0", "id": <event id>, "detail-type": "Amazon Connect Contact Event", "source": "aws.connect",
     "account": ..., "time": ..., "region": ..., "resources": [...],
     "detail": {"eventType": "INITIATED" | "CONNECTED_TO_SYSTEM" | "QUEUED" | "CONNECTED_TO_AGENT" | "DISCONNECTED"
                             | "CONTACT_DATA_UPDATED" | "COMPLETED" | ...,
                "contactId", "initialContactId", "previousContactId", "channel": "VOICE" | "CHAT" | "TASK" | "EMAIL",
                "initiationMethod": "INBOUND" | "OUTBOUND" | "TRANSFER" | "QUEUE_TRANSFER" | "CALLBACK" | "API" | ...,
                "initiationTimestamp", "connectedToSystemTimestamp", "disconnectTimestamp",
                "agentInfo": {"agentArn", "connectedToAgentTimestamp", ...}, "queueInfo": {...},
                "tags": {"aws:connect:systemEndpoint": ..., <user-defined tags>}}}

Sources (each fact below was looked up there):
- Contact events, their data model and samples ("Events are emitted on a best effort basis"; "events are not
  ordered"): https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html
- The EventBridge event list for Amazon Connect ("Amazon Connect Contact Event", delivery type "Best effort"):
  https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-connect.html
- API destinations and their connections; an API-key connection's `ApiKeyName` is "the name of the header to use for
  the APIKeyValue": https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html ,
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateConnectionApiKeyAuthRequestParameters.html ,
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ConnectionApiKeyAuthResponseParameters.html
- Retries: an API destination retries 401, 407, 409, 429 and 5xx answers (and time-outs after 5 seconds), not other
  4xx, for up to 24 hours / 185 attempts by default:
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html ,
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
- The 5-second time-out of an API destination request: https://repost.aws/knowledge-center/eventbridge-api-destination-target-failure
- An event entry is at most 256 KB, and "the event in EventBridge is always larger than the entry size":
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html

Verification: Connect signs nothing; the API destination's connection (authorization type API key) sends the
configured header on every request. The panel compares that header — named by PANEL_CONNECT_API_KEY_HEADER, default
`x-api-key` — with PANEL_CONNECT_API_KEY in constant time; anything else is refused (401, nothing stored). There is
no signed timestamp, hence no staleness check; EventBridge retries for up to a day, so old events are normal.

Mapping (voice contacts only; chat, task and email contacts → nothing stored):
- `INITIATED` → `call.ringing` (at `initiationTimestamp`); `DISCONNECTED` → `call.ended` (at `disconnectTimestamp`);
  `call.answered`: inbound `CONNECTED_TO_AGENT` (at `agentInfo.connectedToAgentTimestamp`), outbound
  `CONNECTED_TO_SYSTEM` (at `connectedToSystemTimestamp`: the customer picked up — the agent of an outbound call is
  connected before anyone answers, so CONNECTED_TO_AGENT says nothing about the customer there). Every other event
  type (QUEUED, CONTACT_DATA_UPDATED, COMPLETED, PAUSED, ...) and every other detail-type or source → nothing stored
  (200). `INITIATED` of an inbound call is the caller reaching the contact centre (the IVR), not an agent's phone
  ringing; without a number in the event it cannot pre-fetch a pop either.
- `event_id` = `connect:<the envelope's id>` (EventBridge's id of the event: a retry carries the same one).
- `call_id` = `connect:<initialContactId>` (or `contactId` when there is none): the legs of a transfer, each a contact
  of its own (`initiationMethod` TRANSFER / QUEUE_TRANSFER), share the initial contact's id and are logged as one
  Task; `leg_id` = `connect:<contactId>`.
- Direction: OUTBOUND, API, CALLBACK and EXTERNAL_OUTBOUND are the contact centre calling out; INBOUND, WEBRTC_API,
  TRANSFER and QUEUE_TRANSFER are inbound. A transfer leg does not say which way its initial contact went:
  **assumed inbound** (unconfirmed for transferred outbound calls). MONITOR (a supervisor listening) and DISCONNECT
  (a contact created by a disconnect flow) are no calls of the customer's: nothing stored.
- `answered` (on DISCONNECTED): inbound, an agent took the call (`agentInfo.connectedToAgentTimestamp`); outbound,
  the customer picked up (`connectedToSystemTimestamp`, which the data model defines as "when the customer endpoint
  answers" for OUTBOUND, CALLBACK and API). The duration runs from that moment to `disconnectTimestamp`.
  Connect writes `1970-01-01T00:00:00.001Z` for a moment that did not happen (sample events): read as absent.
- The agent: `agentInfo.agentArn`. A PANEL_DIALER_USERS row's `dialer_user` is the agent's ARN or the agent's id
  (the ARN's last segment); the events carry no user name or e-mail, so the agent's Connect user name cannot be a
  row. An unresolved agent goes to review as `connect:<agent id>`; an event with no agent (a call abandoned in the
  queue) names nobody: `agent_ref` `connect:(none)`.
- The customer's number: **the contact events' data model documents no customer endpoint** (it documents only the
  `SystemEndpoint`, the contact centre's own number, and `tags`). The panel reads, in order, `customerEndpoint.address`
  (not documented for contact events; read in case it is sent) and the user-defined contact tag `CustomerNumber`
  (`NUMBER_TAG`), which a contact flow can set from `$.CustomerEndpoint.Address` with a "Set contact tags" block
  (tags "contain both AWS generated and user-defined tags" in every event). Without either, the call is stored
  with no number: it is still logged once, but has no record to match and goes to the review queue.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from panel.calls.events import MAX_DURATION_SECONDS, MAX_NUMBER_LENGTH, CallEvent, EventError, identifier_problem
from panel.dialers.base import AdapterConfig, DemoCall, Delivery, Refused, constant_time_equal, namespaced
from panel.dialers.reading import identifier, iso_moment, json_object, member_object

__all__ = ["MAX_BODY_BYTES", "NAME", "NUMBER_TAG", "SECRET", "SECRETS", "SETTINGS", "demo_delivery", "receive"]

NAME = "connect"
SECRET = "PANEL_CONNECT_API_KEY"
SECRETS = ()
SETTINGS = ("PANEL_CONNECT_API_KEY_HEADER",)
MAX_BODY_BYTES = 512 * 1024  # an entry is at most 256 KB; its envelope adds to it
DEFAULT_HEADER = "x-api-key"
DETAIL_TYPE = "Amazon Connect Contact Event"
SOURCE = "aws.connect"
NUMBER_TAG = "CustomerNumber"  # the user-defined contact tag a flow sets to $.CustomerEndpoint.Address

# Inbound, the call is answered when an agent takes it; outbound, when the customer picks up (CONNECTED_TO_SYSTEM:
# "the contact has established media", generated for outbound calls), the agent being on the line from the start.
_INBOUND_KINDS = {"INITIATED": "call.ringing", "CONNECTED_TO_AGENT": "call.answered", "DISCONNECTED": "call.ended"}
_OUTBOUND_KINDS = {"INITIATED": "call.ringing", "CONNECTED_TO_SYSTEM": "call.answered", "DISCONNECTED": "call.ended"}
_OUTBOUND = frozenset({"OUTBOUND", "API", "CALLBACK", "EXTERNAL_OUTBOUND"})
_INBOUND = frozenset({"INBOUND", "WEBRTC_API", "TRANSFER", "QUEUE_TRANSFER"})
_UNSET_BEFORE = datetime(1971, 1, 1, tzinfo=timezone.utc)  # Connect's 1970-01-01T00:00:00.001Z placeholder


def receive(delivery: Delivery, config: AdapterConfig) -> list[CallEvent]:
    """The panel's events in one EventBridge delivery (at most one), or `Refused` / `EventError`."""
    _verify(delivery, config)
    envelope = json_object(delivery.body)
    if envelope.get("source") != SOURCE or envelope.get("detail-type") != DETAIL_TYPE:
        return []
    detail = member_object(envelope.get("detail"), "detail")
    channel = str(_field(detail, "channel") or "").upper()
    method = str(_field(detail, "initiationMethod") or "").upper()
    if channel != "VOICE" or (method not in _OUTBOUND and method not in _INBOUND):
        return []  # chats, tasks, e-mails; MONITOR, DISCONNECT and methods Connect may add: no call with the customer
    kinds = _OUTBOUND_KINDS if method in _OUTBOUND else _INBOUND_KINDS
    kind = kinds.get(str(_field(detail, "eventType") or "").upper())
    if kind is None:
        return []
    return [_event(kind, envelope, detail, method, config)]


def _verify(delivery: Delivery, config: AdapterConfig) -> None:
    header = str(config.settings.get("PANEL_CONNECT_API_KEY_HEADER") or DEFAULT_HEADER)
    key = config.secrets.get(SECRET)
    if not key or not constant_time_equal(key, delivery.header(header)):
        raise Refused(f"the {header} header does not carry the API key")


def _field(data: dict, name: str) -> Any:
    """A field by its documented camelCase name, or its PascalCase spelling (some documented samples use it)."""
    if name in data:
        return data[name]
    return data.get(name[:1].upper() + name[1:])


def _event(kind: str, envelope: dict, detail: dict, method: str, config: AdapterConfig) -> CallEvent:
    contact_id = identifier(_field(detail, "contactId"), "detail.contactId")
    initial = _field(detail, "initialContactId")
    interaction = identifier(initial, "detail.initialContactId") if initial not in (None, "") else contact_id
    direction = "outbound" if method in _OUTBOUND else "inbound"
    agent_info = _field(detail, "agentInfo")
    agent_info = agent_info if isinstance(agent_info, dict) else {}
    agent_arn = _field(agent_info, "agentArn")
    agent_arn = agent_arn if isinstance(agent_arn, str) and agent_arn.strip() else None
    # The agent's id (the ARN's last segment) first: an unresolved agent is named by it for review; a row may name
    # the id or the whole ARN.
    agent_email, agent_ref = config.agent(agent_arn.rsplit("/", 1)[-1] if agent_arn else None, agent_arn)
    fields: dict[str, Any] = dict(
        event_id=namespaced(NAME, identifier(envelope.get("id"), "id")), type=kind,
        call_id=namespaced(NAME, interaction), leg_id=namespaced(NAME, contact_id), direction=direction,
        agent_email=agent_email, agent_ref=agent_ref, external_number=_customer_number(detail),
        occurred_at=_occurred_at(kind, envelope, detail, agent_info))
    for name in ("event_id", "call_id", "leg_id"):
        problem = identifier_problem(name, fields[name])
        if problem:
            raise EventError(problem, "id" if name == "event_id" else "detail.contactId")
    if kind == "call.ended":
        answered_at = (_moment(_field(detail, "connectedToSystemTimestamp"), "detail.connectedToSystemTimestamp")
                       if direction == "outbound" else
                       _moment(_field(agent_info, "connectedToAgentTimestamp"),
                               "detail.agentInfo.connectedToAgentTimestamp"))
        ended_at = fields["occurred_at"]
        seconds = 0 if answered_at is None else int((ended_at - answered_at).total_seconds())
        fields.update(answered=answered_at is not None,
                      duration_seconds=min(max(seconds, 0), MAX_DURATION_SECONDS))
    return CallEvent(**fields)


def _occurred_at(kind: str, envelope: dict, detail: dict, agent_info: dict) -> datetime:
    if kind == "call.ringing":
        moment = _moment(_field(detail, "initiationTimestamp"), "detail.initiationTimestamp")
    elif kind == "call.answered" and _field(detail, "eventType").upper() == "CONNECTED_TO_SYSTEM":
        moment = _moment(_field(detail, "connectedToSystemTimestamp"), "detail.connectedToSystemTimestamp")
    elif kind == "call.answered":
        moment = _moment(_field(agent_info, "connectedToAgentTimestamp"), "detail.agentInfo.connectedToAgentTimestamp")
    else:
        moment = _moment(_field(detail, "disconnectTimestamp"), "detail.disconnectTimestamp")
    if moment is None:  # the event's own time, which EventBridge always sets
        moment = _moment(envelope.get("time"), "time")
    if moment is None:
        raise EventError("time is missing", "time")
    return moment


def _moment(value: Any, field_name: str) -> datetime | None:
    """An ISO 8601 UTC time as Connect writes it (`2021-08-04T17:18:37.000Z`); None when absent or the 1970
    placeholder; `EventError` naming the field when it is not a time."""
    if value in (None, ""):
        return None
    moment = iso_moment(value, field_name, "2021-08-04T17:18:37.000Z")  # documented as UTC: no offset → UTC
    return None if moment < _UNSET_BEFORE else moment


def _customer_number(detail: dict) -> str:
    """The customer's number as Connect sends it (E.164), or "" (see the module docstring: not documented)."""
    endpoint = _field(detail, "customerEndpoint")
    candidates = [_field(endpoint, "address") if isinstance(endpoint, dict) else None]
    tags = _field(detail, "tags")
    if isinstance(tags, dict):
        candidates.append(tags.get(NUMBER_TAG))
    for value in candidates:
        if isinstance(value, str) and value.strip() and len(value) <= MAX_NUMBER_LENGTH and value.isprintable():
            return value.strip()
    return ""


def demo_delivery(kind: str, call: DemoCall, *, secret: str, url: str, now: datetime,
                  header: str = DEFAULT_HEADER) -> tuple[bytes, dict, str] | None:
    """One contact event of the demo's call as the API destination delivers it. The demo's agent is named by an ARN
    whose last segment is the agent's e-mail (a real agent id is a UUID), so it needs no PANEL_DIALER_USERS row;
    its number travels in the `CustomerNumber` tag."""
    answered_type = "CONNECTED_TO_SYSTEM" if call.direction == "outbound" else "CONNECTED_TO_AGENT"
    event_type = {"ringing": "INITIATED", "answered": answered_type, "ended": "DISCONNECTED"}.get(kind)
    if event_type is None:
        return None
    stamp = _stamp(call.started_at)
    instance = "arn:aws:connect:ap-northeast-1:111122223333:instance/00000000-0000-0000-0000-000000000000"
    detail: dict[str, Any] = {
        "eventType": event_type, "contactId": call.call_id, "initialContactId": call.call_id, "channel": "VOICE",
        "instanceArn": instance, "initiationMethod": "INBOUND" if call.direction == "inbound" else "OUTBOUND",
        "initiationTimestamp": stamp, "tags": {"aws:connect:instanceId": instance.rsplit("/", 1)[-1],
                                               NUMBER_TAG: call.number},
    }
    answered = call.answered or kind == "answered"
    agent = {"agentArn": f"{instance}/agent/{call.agent_email}"}
    if call.direction == "outbound":  # the agent dials: connected from the start; the customer answers or not
        detail["agentInfo"] = {**agent, "connectedToAgentTimestamp": stamp}
        if kind != "ringing" and answered:
            detail["connectedToSystemTimestamp"] = stamp
    elif kind != "ringing" and answered:
        detail["agentInfo"] = {**agent, "connectedToAgentTimestamp": stamp}
    if kind == "ended":
        detail["disconnectTimestamp"] = _stamp(call.started_at + timedelta(seconds=call.duration_seconds))
    body = {"version": "0", "id": f"demo-{call.call_id}-{event_type.lower()}", "detail-type": DETAIL_TYPE,
            "source": SOURCE, "account": "111122223333", "time": _stamp(now), "region": "ap-northeast-1",
            "resources": [f"{instance}/contact/{call.call_id}", instance], "detail": detail}
    return json.dumps(body).encode(), {header: secret}, "application/json"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
