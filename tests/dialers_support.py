"""Helpers for the dialer adapters' tests (tests/dialers/): deliver a vendor's request to `POST /webhooks/<dialer>`
as the vendor would, run a call's job once its legs have settled and find its one Task (end to end), and a
`Delivery` / `AdapterConfig` for the adapters' pure tests. The fixtures are in tests/dialers/conftest.py.

The payloads themselves are written in each test module from the vendor's documentation (cited there), never
produced by the adapter under test.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from werkzeug.datastructures import Headers

from calls_support import call_tasks, run_call

from panel.config import LOCAL_DIALER_SECRETS
from panel.dialers.base import AdapterConfig, Delivery
from panel.dialers.identities import Identities

AGENT = "agent@example.com"  # the local org's agent (a Salesforce user: needs no PANEL_DIALER_USERS row)


def secret(dialer: str) -> str:
    """The adapter's documented local secret (panel.config.LOCAL_DIALER_SECRETS)."""
    return LOCAL_DIALER_SECRETS[dialer]


def post_delivery(client, dialer: str, body: bytes | str, headers: dict | None = None, *,
                  content_type: str = "application/json", query: str = ""):
    """POST the raw body to the dialer's webhook with exactly these headers (plus the content type)."""
    data = body.encode() if isinstance(body, str) else body
    return client.post(f"/webhooks/{dialer}" + (f"?{query}" if query else ""), data=data,
                       headers={"Content-Type": content_type, **(headers or {})})


def settled(app, call_id: str, *, after: timedelta = timedelta(seconds=30)):
    """One run of the call's job, its clock `after` from now: the panel waits a few seconds after the last event of
    a call whose dialer names legs (a blind transfer ends one leg just before the next rings)."""
    return run_call(app, call_id, now=datetime.now(timezone.utc) + after)


def logged_once(sf, call_id: str) -> dict:
    """The call's one Task in the org (the product's promise: exactly one, however the events arrived)."""
    tasks = call_tasks(sf, call_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def form_body(fields: list[tuple[str, str]] | dict) -> str:
    return urlencode(list(fields.items()) if isinstance(fields, dict) else fields)


def delivery(body: bytes | str, headers: dict | None = None, *, url: str = "https://panel.example.com/webhooks/x",
             content_type: str = "application/json", form=(), received_at: datetime | None = None) -> Delivery:
    """A `Delivery` for an adapter's pure tests."""
    return Delivery(headers=Headers(list((headers or {}).items())), body=body.encode() if isinstance(body, str) else body,
                    url=url, received_at=received_at or datetime.now(timezone.utc), form=tuple(form),
                    content_type=content_type)


def adapter_config(dialer: str, *, secrets: dict | None = None, identities: Identities | None = None,
                   settings: dict | None = None, now: datetime | None = None) -> AdapterConfig:
    from panel.config import DIALER_SECRETS

    return AdapterConfig(dialer=dialer, secrets=secrets if secrets is not None else
                         {DIALER_SECRETS[dialer]: secret(dialer)}, identities=identities or Identities(),
                         settings=settings or {}, **({"now": (lambda: now)} if now else {}))
