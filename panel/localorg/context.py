"""The org a request is served by: its store and settings, reachable from any view through `current_org()`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import current_app, request

from .store import Store

API_VERSIONS = tuple(f"{major}.0" for major in range(50, 63))
DAILY_API_LIMIT = 15000


class InFlight:
    """How many counted API requests this process is serving right now, and the most at once since the last reset:
    lets tests see that the panel sends requests concurrently without timing them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1

    def reset(self) -> None:
        with self._lock:
            self.peak = self.now


@dataclass
class LocalOrg:
    store: Store
    search_lag_s: float
    latency_ms: int
    token_ttl_s: float
    timezone: str = "Asia/Tokyo"
    jwt_public_key: str | None = None  # PEM; the certificate uploaded to the connected app for the JWT bearer flow
    in_flight: InFlight = field(default_factory=InFlight)


def current_org() -> LocalOrg:
    return current_app.extensions["localorg"]


def instance_url() -> str:
    """Where this org is served, e.g. `http://127.0.0.1:5000/localorg`, whatever prefix it is mounted under."""
    return request.url_root.rstrip("/")
