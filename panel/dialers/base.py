"""What every dialer adapter is: a pure function from one vendor delivery to the panel's call events.

An adapter (one module per vendor in this package) reads a `Delivery` (the request as received: headers, raw body,
the URL the vendor called, the parsed form, the moment it arrived) and, with its `AdapterConfig` (its secret, who is
who, the clock), answers with one of:

- a `Reply`: the vendor's handshake (Zoom's URL validation, RingCentral's `Validation-Token`, MiiTel's challenge),
  answered as the vendor documents it; nothing is stored;
- a list of `CallEvent`s (panel.calls.events), possibly empty (an event kind the panel does not use): stored, then
  logged by the same pipeline as the panel's own webhook;

or raises `Refused` (401: the delivery does not verify; nothing stored) or `EventError` (400: the delivery verifies
but cannot be mapped; the message names what is missing; nothing stored).

Rules every adapter follows (docs/dialers.md):
- ids are namespaced by the vendor: `event_id` `zoom:<the vendor's event or delivery id>` (or, where the vendor
  has none, a key derived from call id, state and time, so a redelivery is a duplicate); `call_id` the
  interaction (`dialpad:<master_call_id>`), `leg_id` the leg (`dialpad:<call_id>`). The intake turns the
  interaction into the leg when the admin asks for one Task per leg (PANEL_TASK_PER_LEG).
- the agent comes from `AdapterConfig.agent(...)` (PANEL_DIALER_USERS, or an e-mail the vendor sends); an agent
  nobody resolves is `agent_email=""` with `agent_ref` set, and the call goes to review.
- times carry their offset (vendors' epoch milliseconds become UTC datetimes).
- values are read with panel.dialers.reading, which names the vendor's field in every error.
- nothing here reads Flask, the database or the network: the intake (panel.dialers.intake) does that.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence

from panel.calls.events import CallEvent, EventError
from panel.dialers.identities import Identities
from panel.dialers.reading import from_epoch_ms  # kept here too: adapters read it from either module

__all__ = [
    "AdapterConfig",
    "DemoCall",
    "Delivery",
    "EventError",
    "Outcome",
    "Refused",
    "Reply",
    "constant_time_equal",
    "from_epoch_ms",
    "namespaced",
]


@dataclass(frozen=True)
class Delivery:
    """One request from a vendor, as received.

    `headers` is case-insensitive (werkzeug's Headers, or `CaseInsensitive` in tests); `url` is the full URL the
    vendor called, query string included (built on PANEL_PUBLIC_URL when that is set: Twilio signs it);
    `form` the form fields of an `application/x-www-form-urlencoded` body in the order sent (else empty)."""

    headers: Mapping[str, str]
    body: bytes
    url: str
    received_at: datetime
    form: Sequence[tuple[str, str]] = ()
    content_type: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass(frozen=True)
class Reply:
    """An answer the vendor's protocol prescribes (a handshake): status, a JSON-ready body or text, headers."""

    status: int = 200
    body: Any = None  # dict/list → JSON; str → text/plain; None → empty
    headers: Mapping[str, str] = field(default_factory=dict)


Outcome = Reply | list[CallEvent]


@dataclass(frozen=True)
class DemoCall:
    """One call of the demo dialer (panel.demo), for an adapter's `demo_delivery` to put in its vendor's format.
    `call_id` is the vendor-side id (not namespaced); `number` the other party's; `started_at` aware."""

    call_id: str
    direction: str  # inbound / outbound
    number: str
    agent_email: str
    started_at: datetime
    answered: bool = True
    duration_seconds: int = 0


class Refused(Exception):
    """The delivery did not verify (401, nothing stored). `message` is what the answer says; never the secret."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class AdapterConfig:
    """What an adapter is given besides the delivery.

    `secrets`: the adapter's secret values by environment name (only set ones; an adapter whose main secret is
    unset never runs: 404). `identities`: PANEL_DIALER_USERS. `settings`: the adapter's other configuration values
    by name (e.g. PANEL_MIITEL_WEBHOOK_HEADER). `now`: the clock (tests set it)."""

    dialer: str
    secrets: Mapping[str, str]
    identities: Identities
    settings: Mapping[str, Any] = field(default_factory=dict)
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    def agent(self, *names: str | None) -> tuple[str, str | None]:
        """(agent_email, agent_ref) for the identities the vendor's event carries (user id, extension, e-mail,
        number; the most specific first): see `Identities.resolve`."""
        return self.identities.resolve(self.dialer, *names)

    def secret_values(self, *names: str) -> list[str]:
        """The values of those of the adapter's secrets (`SECRET`, then `SECRETS`: a previous one during a
        rotation) that are set, in that order: a delivery signed with any of them verifies."""
        return [self.secrets[name] for name in names if self.secrets.get(name)]


def namespaced(dialer: str, vendor_id: Any) -> str:
    """A vendor's id made unique among vendors: `zoom:abc`. The panel's own webhook ids are not namespaced."""
    return f"{dialer}:{vendor_id}"


def constant_time_equal(expected: str | bytes, given: str | bytes | None) -> bool:
    """Compare a secret-derived value with what the request carried without leaking where they differ."""
    if given is None:
        return False
    a = expected.encode() if isinstance(expected, str) else expected
    try:
        b = given.encode("utf-8") if isinstance(given, str) else given
    except UnicodeEncodeError:  # a lone surrogate: no secret-derived value holds one
        return False
    return hmac.compare_digest(a, b)
