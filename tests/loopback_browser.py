"""A `requests` session that keeps cookies the way a browser does on this machine.

Browsers treat http://127.0.0.1 and http://localhost as secure contexts and send `Secure` cookies there (the panel's
session cookie is `__Host-…; Secure`); Python's cookie jar sends them over https only. Tests that drive the panel
over real HTTP on loopback use this session so they see what a browser sees.
"""

from __future__ import annotations

import requests
from requests.cookies import RequestsCookieJar

_LOOPBACK = {"127.0.0.1", "localhost", "127.0.0.1.local", "localhost.local", "[::1]", "::1"}


class _LoopbackIsSecureJar(RequestsCookieJar):
    """Stores a loopback host's Secure cookies as plain ones, so every jar requests copies them into sends them."""

    def set_cookie(self, cookie, *args, **kwargs):
        if cookie.secure and cookie.domain.lstrip(".") in _LOOPBACK:
            cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


def browser_session() -> requests.Session:
    session = requests.Session()
    session.cookies = _LoopbackIsSecureJar()
    return session
