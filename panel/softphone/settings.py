"""Which dialers' web phones the softphone page may embed, where each one's embed URL is, and its origin.

Pure: reads a config mapping (the app's checked config), no Flask. A dialer is on when its main variable is set;
the URLs a vendor documents are the defaults. The origin is what the page's Content-Security-Policy `frame-src`
lists and the only origin its scripts accept messages from and post messages to.

| dialer | on when | embed URL (documented default) |
|---|---|---|
| ringcentral | PANEL_SOFTPHONE_RINGCENTRAL_CLIENT_ID | PANEL_SOFTPHONE_RINGCENTRAL_APP_URL `?clientId=<id>` |
| zoom | PANEL_SOFTPHONE_ZOOM_URL | that URL |
| dialpad | PANEL_SOFTPHONE_DIALPAD_CLIENT_ID | PANEL_SOFTPHONE_DIALPAD_APPS_URL `/<client id>` |
| aircall | PANEL_SOFTPHONE_AIRCALL (flag) | PANEL_SOFTPHONE_AIRCALL_WORKSPACE_URL (the SDK frames it) |
| connect | PANEL_SOFTPHONE_CONNECT_INSTANCE_URL | `<instance>/ccp-v2/` (Streams' `initCCP` frames it) |

Sources:
- RingCentral Embeddable in an iframe, `app.html` under
  https://apps.ringcentral.com/integration/ringcentral-embeddable/latest/ with `clientId` (and `appServer` for the
  sandbox) as query parameters: https://ringcentral.github.io/ringcentral-embeddable/docs/initialization/ and
  …/docs/config/client-id/ (github.com/ringcentral/ringcentral-embeddable docs/initialization.md,
  docs/config/client-id.md).
- Zoom Phone Smart Embed: https://developers.zoom.us/docs/phone/smart-embed-guide/ ; the iframe address
  https://applications.zoom.us/integration/phone/embeddablephone/home is from second-hand summaries of that guide
  (not confirmed from Zoom's page itself), hence no default: the administrator pastes the URL Zoom shows.
- Dialpad Mini Dialer: loaded at https://dialpad.com/apps/<client id> once Dialpad has set the CTI up:
  https://developers.dialpad.com/docs/dialpad-mini-dialer
- Aircall Everywhere (npm aircall-everywhere 2.0.6): the SDK frames `workspaceUrl`, default
  https://workspace.aircall.io, with `?integration=generic`: github.com/aircall/aircall-everywhere README.md and
  src/javascripts/aircallWorkspace.js.
- Amazon Connect Streams (npm amazon-connect-streams 2.28.2): `connect.core.initCCP(container, {ccpUrl})`, the CCP at
  `https://<instance>/ccp-v2/` (the docs' example: https://my-instance-domain.awsapps.com/connect/ccp-v2/; newer
  instances are https://<alias>.my.connect.aws/ccp-v2/): github.com/amazon-connect/amazon-connect-streams
  Documentation.md, "Initialization".
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import quote, urlsplit, urlunsplit

DIALERS = ("ringcentral", "zoom", "dialpad", "aircall", "connect")
# The vendors' product names as the page shows them (not translated).
LABELS = {"ringcentral": "RingCentral", "zoom": "Zoom Phone", "dialpad": "Dialpad", "aircall": "Aircall",
          "connect": "Amazon Connect"}

RINGCENTRAL_APP_URL = "https://apps.ringcentral.com/integration/ringcentral-embeddable/latest/app.html"
DIALPAD_APPS_URL = "https://dialpad.com/apps"
AIRCALL_WORKSPACE_URL = "https://workspace.aircall.io"

# Environment names (README, "Configuration").
RINGCENTRAL_CLIENT_ID = "PANEL_SOFTPHONE_RINGCENTRAL_CLIENT_ID"
RINGCENTRAL_APP = "PANEL_SOFTPHONE_RINGCENTRAL_APP_URL"
ZOOM_URL = "PANEL_SOFTPHONE_ZOOM_URL"
DIALPAD_CLIENT_ID = "PANEL_SOFTPHONE_DIALPAD_CLIENT_ID"
DIALPAD_APPS = "PANEL_SOFTPHONE_DIALPAD_APPS_URL"
AIRCALL = "PANEL_SOFTPHONE_AIRCALL"
AIRCALL_WORKSPACE = "PANEL_SOFTPHONE_AIRCALL_WORKSPACE_URL"
CONNECT_INSTANCE = "PANEL_SOFTPHONE_CONNECT_INSTANCE_URL"
STRINGS = (RINGCENTRAL_CLIENT_ID, RINGCENTRAL_APP, ZOOM_URL, DIALPAD_CLIENT_ID, DIALPAD_APPS, AIRCALL_WORKSPACE,
           CONNECT_INSTANCE)
FLAGS = (AIRCALL,)
DEFAULTS: dict[str, Any] = {RINGCENTRAL_CLIENT_ID: None, RINGCENTRAL_APP: RINGCENTRAL_APP_URL, ZOOM_URL: None,
                            DIALPAD_CLIENT_ID: None, DIALPAD_APPS: DIALPAD_APPS_URL, AIRCALL: False,
                            AIRCALL_WORKSPACE: AIRCALL_WORKSPACE_URL, CONNECT_INSTANCE: None}

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class SoftphoneConfigError(ValueError):
    """A softphone variable cannot work; the message names it and says what it should look like."""


@dataclass(frozen=True)
class Softphone:
    """One dialer's web phone as the page embeds it."""

    dialer: str
    label: str
    embed_url: str  # what the page (or the vendor's SDK) frames
    origin: str  # the embed URL's origin: frame-src, and the only peer of postMessage


_DEFAULT_PORTS = {"https": 443, "http": 80}


def origin_of(url: str) -> str:
    """The origin as a browser serializes it (`event.origin`): lower-case scheme and host, the host in its ASCII
    (IDNA) form, the port only when it is not the scheme's default."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").encode("idna").decode("ascii").lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = parts.port
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS.get(scheme) else "")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _checked_url(name: str, value: str) -> str:
    """An https URL with a concrete host (http only on loopback, for local stand-ins), no user info, no fragment."""
    parts = urlsplit(value)
    host = parts.hostname or ""
    secure = parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host))
    if not secure or not host or "*" in parts.netloc or parts.username or parts.password or parts.fragment:
        raise SoftphoneConfigError(f"{name} must be an https URL such as https://phone.example.com/app, "
                                   f"not {value!r}")
    try:
        parts.port  # noqa: B018  (a bad port raises)
    except ValueError:
        raise SoftphoneConfigError(f"{name} has a port that is not a number: {value!r}") from None
    try:
        origin_of(value)
    except UnicodeError:
        raise SoftphoneConfigError(f"{name} has a host name that is not valid: {value!r}") from None
    return value


def _client_id(name: str, value: str) -> str:
    if not _CLIENT_ID.match(value):
        raise SoftphoneConfigError(f"{name} must be the client id the vendor gave you (letters, digits, - and _), "
                                   f"not {value!r}")
    return value


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    added = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items())
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _text(config: Mapping[str, Any], name: str) -> str:
    value = config.get(name)
    return str(value).strip() if value not in (None, "") else ""


def _build(dialer: str, config: Mapping[str, Any]) -> str | None:
    """The embed URL of `dialer`, or None when it is off. Raises SoftphoneConfigError for a value that cannot
    work."""
    if dialer == "ringcentral":
        client_id = _text(config, RINGCENTRAL_CLIENT_ID)
        if not client_id:
            return None
        app = _checked_url(RINGCENTRAL_APP, _text(config, RINGCENTRAL_APP) or RINGCENTRAL_APP_URL)
        return _with_query(app, clientId=_client_id(RINGCENTRAL_CLIENT_ID, client_id))
    if dialer == "zoom":
        url = _text(config, ZOOM_URL)
        return _checked_url(ZOOM_URL, url) if url else None
    if dialer == "dialpad":
        client_id = _text(config, DIALPAD_CLIENT_ID)
        if not client_id:
            return None
        apps = _checked_url(DIALPAD_APPS, _text(config, DIALPAD_APPS) or DIALPAD_APPS_URL)
        return apps.rstrip("/") + "/" + _client_id(DIALPAD_CLIENT_ID, client_id)
    if dialer == "aircall":
        if not config.get(AIRCALL):
            return None
        return _checked_url(AIRCALL_WORKSPACE, _text(config, AIRCALL_WORKSPACE) or AIRCALL_WORKSPACE_URL)
    if dialer == "connect":
        instance = _text(config, CONNECT_INSTANCE)
        if not instance:
            return None
        parts = urlsplit(_checked_url(CONNECT_INSTANCE, instance))
        path = parts.path.rstrip("/")
        if not path.endswith("/ccp-v2"):
            path += "/ccp-v2"
        return urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))
    return None


def softphone(config: Mapping[str, Any], dialer: str) -> Softphone | None:
    """The configured web phone of `dialer`, or None when the dialer is unknown or off."""
    if dialer not in DIALERS:
        return None
    url = _build(dialer, config)
    return Softphone(dialer, LABELS[dialer], url, origin_of(url)) if url else None


def configured(config: Mapping[str, Any]) -> list[Softphone]:
    """Every dialer whose web phone is on, in DIALERS order."""
    return [found for found in (softphone(config, dialer) for dialer in DIALERS) if found]


def check(config: Mapping[str, Any]) -> None:
    """Raises SoftphoneConfigError for the first softphone variable that cannot work (called at start-up)."""
    configured(config)
