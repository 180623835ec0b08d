"""HTTP sessions for simple-salesforce: default timeouts, and the route to the local org.

simple-salesforce always builds `https://<host>/services/...` URLs from an instance URL. Salesforce's instance URLs
fit that; the local org's (`http://127.0.0.1:5000/localorg`) has a scheme and a path prefix that do not. Rather than
patch the client, the session rewrites the URLs it was handed back onto the real base before sending, so every
request still goes over real HTTP through the same client code that talks to Salesforce.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import requests

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds
_API_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceSession(requests.Session):
    """A `requests.Session` with a timeout on every request and an optional instance-URL rewrite.

    `api_usage` is the (used, allowed) pair of the last `Sforce-Limit-Info` header seen, errors included
    (simple-salesforce reads it from successful answers only)."""

    def __init__(self, instance_url: str | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.timeout = timeout
        self.api_usage: tuple[int, int] | None = None
        self._rewrite_from: str | None = None
        self._rewrite_to: str | None = None
        if instance_url:
            parts = urlsplit(instance_url)
            if parts.scheme != "https" or parts.path.strip("/"):
                port = f":{parts.port}" if parts.port not in (None, 443) else ""
                self._rewrite_from = f"https://{parts.hostname}{port}/"
                self._rewrite_to = instance_url.rstrip("/") + "/"

    def request(self, method, url, *args, **kwargs):  # noqa: D401 - requests' own signature
        kwargs.setdefault("timeout", self.timeout)
        if self._rewrite_from and isinstance(url, str) and url.startswith(self._rewrite_from):
            url = self._rewrite_to + url[len(self._rewrite_from):]
        response = super().request(method, url, *args, **kwargs)
        usage = _API_USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if usage:
            self.api_usage = (int(usage.group(1)), int(usage.group(2)))
        return response
