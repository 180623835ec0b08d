"""Configuration: built-in defaults, then environment variables, then the overrides `create_app` is given.

The environment variable names are a contract (see README.md, "Configuration"). Two modes follow from
`SALESFORCE_LOGIN_URL`:

- unset: the embedded local org. Everything has a working default: the login URL is `LOCALORG_URL` (where
  `panel.serve` mounts the local org), the client is the local org's `panel-local`, a SECRET_KEY is generated once
  and kept in the instance folder, the webhook secret is the documented `local-webhook-secret`.
- set: a real org or sandbox. Secrets must come from the environment; the app refuses to start without them.

Agents sign in at `SALESFORCE_LOGIN_URL`; the integration user's token comes from the org's My Domain
(`SALESFORCE_MY_DOMAIN_URL`, by default the login URL when that is a My Domain), and the JWT bearer assertion is
addressed to the login server (`SALESFORCE_JWT_AUDIENCE`, by default login.salesforce.com, or test.salesforce.com for
a sandbox): panel.salesforce.oauth says why they differ.

`ConfigError` says which variable is wrong and what it should look like.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from typing import Any, Mapping, MutableMapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from panel.salesforce.oauth import DEFAULT_SCOPE, OAuthSettings, default_jwt_audience, is_login_server

LOCAL_CLIENT_ID = "panel-local"
LOCAL_CLIENT_SECRET = "panel-local-secret"
LOCAL_WEBHOOK_SECRET = "local-webhook-secret"
# The dialer adapters' secrets (panel.dialers): an adapter whose secret is unset is off (404). Beside the local org
# each gets a documented local value, so the demo can send every vendor's format.
DIALER_SECRETS = {
    "zoom": "PANEL_ZOOM_WEBHOOK_SECRET",
    "dialpad": "PANEL_DIALPAD_WEBHOOK_SECRET",
    "ringcentral": "PANEL_RINGCENTRAL_VERIFICATION_TOKEN",
    "aircall": "PANEL_AIRCALL_WEBHOOK_TOKEN",
    "twilio": "PANEL_TWILIO_AUTH_TOKEN",
    "webex": "PANEL_WEBEX_WEBHOOK_SECRET",
    "connect": "PANEL_CONNECT_API_KEY",
    "miitel": "PANEL_MIITEL_WEBHOOK_TOKEN",
}
LOCAL_DIALER_SECRETS = {dialer: f"local-{dialer}-secret" for dialer in DIALER_SECRETS}
LOCAL_REVIEWERS = "reviewer@example.com"
LOCAL_FRAME_ANCESTORS = "'self' http://127.0.0.1:* http://localhost:*"
DEFAULT_LOCALORG_URL = "http://127.0.0.1:5000/localorg"
SECRET_KEY_FILE = "secret_key"

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "SALESFORCE_LOGIN_URL": None,
    "SALESFORCE_MY_DOMAIN_URL": None,
    "SALESFORCE_CLIENT_ID": None,
    "SALESFORCE_CLIENT_SECRET": None,
    "SALESFORCE_API_VERSION": "62.0",
    "SALESFORCE_SCOPE": DEFAULT_SCOPE,
    "SALESFORCE_JWT_USERNAME": None,
    "SALESFORCE_JWT_PRIVATE_KEY": None,
    "SALESFORCE_JWT_AUDIENCE": None,
    "DATABASE_URL": None,
    "REDIS_URL": None,
    "PANEL_TOKEN_KEY": None,
    "PANEL_WEBHOOK_SECRET": None,
    "PANEL_WEBHOOK_PREVIOUS_SECRET": None,
    "PANEL_DEFAULT_REGION": "JP",
    "PANEL_PUBLIC_URL": None,
    "PANEL_DIALER_USERS": None,
    "PANEL_CONNECT_API_KEY_HEADER": "x-api-key",
    "PANEL_MIITEL_WEBHOOK_HEADER": "Authorization",
    "PANEL_TASK_PER_LEG": False,
    "PANEL_LOG_MESSAGES": True,
    # the softphone page's web phones (panel.softphone.settings, docs/softphones.md): each off until its variable is set
    "PANEL_SOFTPHONE_RINGCENTRAL_CLIENT_ID": None,
    "PANEL_SOFTPHONE_RINGCENTRAL_APP_URL":
        "https://apps.ringcentral.com/integration/ringcentral-embeddable/latest/app.html",
    "PANEL_SOFTPHONE_ZOOM_URL": None,
    "PANEL_SOFTPHONE_DIALPAD_CLIENT_ID": None,
    "PANEL_SOFTPHONE_DIALPAD_APPS_URL": "https://dialpad.com/apps",
    "PANEL_SOFTPHONE_AIRCALL": False,
    "PANEL_SOFTPHONE_AIRCALL_WORKSPACE_URL": "https://workspace.aircall.io",
    "PANEL_SOFTPHONE_CONNECT_INSTANCE_URL": None,
    "PANEL_TASK_OPEN_STATUS": None,
    "PANEL_TASK_DONE_STATUS": None,
    "PANEL_TIMEZONE": "Asia/Tokyo",
    "PANEL_FRAME_ANCESTORS": None,
    "PANEL_REVIEWERS": None,
    "PANEL_ADMINS": None,  # who may open /admin/doctor; unset: the reviewers
    "PANEL_LOCALORG_SEARCH_LAG_S": 60.0,
    "PANEL_LOCALORG_LATENCY_MS": 0,
    # Connections each process keeps open to the panel's database: at least its threads (PANEL_WEB_THREADS, 8, or
    # PANEL_WORKER_THREADS) plus the pop's helper thread. Fewer, and every request beyond them opens and closes a
    # connection of its own, which on PostgreSQL starts and stops a server process each time.
    "PANEL_DB_POOL_SIZE": 10,
    "LOCALORG_URL": None,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    # The panel lives in a dialer's cross-site iframe, where browsers that block third-party cookies still keep a
    # partitioned (CHIPS) cookie. Secure is required by both __Host- and Partitioned; browsers accept it on https
    # and, for the local demo, on http://127.0.0.1 and http://localhost (loopback counts as a secure context).
    # Browsers that refuse it inside the frame get the in-memory token instead (panel.signin.embed).
    "SESSION_COOKIE_NAME": "__Host-panel_session",
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_SAMESITE": "None",
    "SESSION_COOKIE_PARTITIONED": True,
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session: a sidebar stays open all day
    "BABEL_DEFAULT_LOCALE": "ja",
}

_STRINGS = ("SECRET_KEY", "SALESFORCE_LOGIN_URL", "SALESFORCE_MY_DOMAIN_URL", "SALESFORCE_CLIENT_ID",
            "SALESFORCE_CLIENT_SECRET", "SALESFORCE_API_VERSION", "SALESFORCE_SCOPE", "SALESFORCE_JWT_USERNAME",
            "SALESFORCE_JWT_AUDIENCE", "DATABASE_URL", "REDIS_URL",
            "PANEL_TOKEN_KEY", "PANEL_WEBHOOK_SECRET", "PANEL_WEBHOOK_PREVIOUS_SECRET", "PANEL_DEFAULT_REGION",
            "PANEL_TIMEZONE", "PANEL_FRAME_ANCESTORS", "PANEL_REVIEWERS", "PANEL_ADMINS",
            # a separate `python -m panel.worker` must reach the local org and the queue `make run` uses
            "LOCALORG_URL", "PANEL_JOBS_SQLITE",
            # Task statuses (API names) the panel writes; unset: the org's own (panel.salesforce.task_statuses)
            "PANEL_TASK_OPEN_STATUS", "PANEL_TASK_DONE_STATUS",
            # the dialer adapters (panel.dialers, docs/dialers.md)
            *DIALER_SECRETS.values(), "PANEL_PUBLIC_URL", "PANEL_DIALER_USERS", "PANEL_CONNECT_API_KEY_HEADER",
            "PANEL_MIITEL_WEBHOOK_HEADER",
            # the softphone page (panel.softphone.settings, docs/softphones.md)
            "PANEL_SOFTPHONE_RINGCENTRAL_CLIENT_ID", "PANEL_SOFTPHONE_RINGCENTRAL_APP_URL", "PANEL_SOFTPHONE_ZOOM_URL",
            "PANEL_SOFTPHONE_DIALPAD_CLIENT_ID", "PANEL_SOFTPHONE_DIALPAD_APPS_URL",
            "PANEL_SOFTPHONE_AIRCALL_WORKSPACE_URL", "PANEL_SOFTPHONE_CONNECT_INSTANCE_URL")
# Read here so that a bad value stops the start instead of being ignored later (see _check for their rules).
_CHECKED_STRINGS = ("PANEL_MATCH_PRIORITY", "PANEL_TASK_LANGUAGE", "PANEL_CALL_EXTERNAL_ID_FIELD",
                    "PANEL_TASK_SUBJECT_TEMPLATE", "PANEL_PHONE_FIELDS")
_NUMBERS = {"PANEL_LOCALORG_SEARCH_LAG_S": float, "PANEL_LOCALORG_LATENCY_MS": int, "PANEL_POP_CACHE_TTL_S": int,
            "PANEL_POP_LAST_KNOWN_TTL_S": int, "PANEL_SEARCH_LAG_S": int, "PANEL_CALL_RETRY_FOR_S": float,
            "PANEL_CALL_TIMEOUT_S": float, "PANEL_POP_TIMEOUT_S": float,
            "PANEL_CALL_LEASE_TTL_S": float, "PANEL_CALL_RETRY_BASE_S": float, "PANEL_CALL_RETRY_CAP_S": float,
            "PANEL_DB_POOL_SIZE": int, "PANEL_CALL_SETTLE_S": float}
_FLAGS = ("PANEL_LOG_INTERNAL_CALLS", "PANEL_LOG_MISSED_CALLS", "PANEL_TASK_PER_LEG", "PANEL_LOG_MESSAGES",
          "PANEL_SOFTPHONE_AIRCALL")
_FLAG_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False,
               "off": False}
_MATCH_TYPES = ("Contact", "Account", "Lead")
_API_VERSION = re.compile(r"^\d{2,3}\.0$")
_FIELD_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")


class ConfigError(RuntimeError):
    """The configuration cannot work; the message names the variable and the fix."""


def from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The settings the environment gives; empty variables count as unset."""
    found: dict[str, Any] = {name: environ[name].strip() for name in _STRINGS if environ.get(name, "").strip()}
    found.update({name: environ[name].strip() for name in _CHECKED_STRINGS if environ.get(name, "").strip()})
    for name, kind in _NUMBERS.items():
        if environ.get(name, "").strip():
            found[name] = _number(environ, name, kind)
    for name in _FLAGS:
        if environ.get(name, "").strip():
            found[name] = _flag(environ, name)
    key_file = environ.get("SALESFORCE_JWT_PRIVATE_KEY_FILE", "").strip()
    if key_file:
        try:
            with open(key_file, encoding="utf-8") as handle:
                found["SALESFORCE_JWT_PRIVATE_KEY"] = handle.read()
        except OSError as error:
            raise ConfigError(f"SALESFORCE_JWT_PRIVATE_KEY_FILE cannot be read: {error.strerror}") from None
    return found


def _number(environ: Mapping[str, str], name: str, kind: type) -> Any:
    try:
        value = kind(environ[name].strip())
    except ValueError:
        raise ConfigError(f"{name} must be a {'whole ' if kind is int else ''}number, "
                          f"not {environ[name]!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    word = environ[name].strip().lower()
    if word not in _FLAG_WORDS:
        raise ConfigError(f"{name} must be true or false (1/0, yes/no, on/off), not {environ[name]!r}")
    return _FLAG_WORDS[word]


def finalize(config: MutableMapping[str, Any], instance_path: str) -> OAuthSettings:
    """Fill in what depends on the mode, check everything, and return the OAuth settings for sign-in."""
    local = not config.get("SALESFORCE_LOGIN_URL")
    config["LOCALORG_ENABLED"] = local
    if local:
        config["LOCALORG_URL"] = (config.get("LOCALORG_URL") or DEFAULT_LOCALORG_URL).rstrip("/")
        config["SECRET_KEY"] = config.get("SECRET_KEY") or local_secret_key(instance_path)
        config["SALESFORCE_CLIENT_ID"] = config.get("SALESFORCE_CLIENT_ID") or LOCAL_CLIENT_ID
        config["SALESFORCE_CLIENT_SECRET"] = config.get("SALESFORCE_CLIENT_SECRET") or LOCAL_CLIENT_SECRET
        config["PANEL_WEBHOOK_SECRET"] = config.get("PANEL_WEBHOOK_SECRET") or LOCAL_WEBHOOK_SECRET
        for dialer, name in DIALER_SECRETS.items():
            config[name] = config.get(name) or LOCAL_DIALER_SECRETS[dialer]
        config["PANEL_REVIEWERS"] = config.get("PANEL_REVIEWERS") or LOCAL_REVIEWERS
        config["PANEL_FRAME_ANCESTORS"] = config.get("PANEL_FRAME_ANCESTORS") or LOCAL_FRAME_ANCESTORS
        login_url = config["LOCALORG_URL"]
        my_domain_url = config.get("SALESFORCE_MY_DOMAIN_URL") or login_url
    else:
        login_url = _login_url(config["SALESFORCE_LOGIN_URL"])
        config["SALESFORCE_LOGIN_URL"] = login_url
        my_domain_url = config.get("SALESFORCE_MY_DOMAIN_URL") or (None if is_login_server(login_url) else login_url)
        for name, why in (("SECRET_KEY", "it signs sessions and encrypts the stored Salesforce tokens"),
                          ("SALESFORCE_CLIENT_ID", "it is the connected app's consumer key"),
                          ("PANEL_WEBHOOK_SECRET", "it authenticates call events from the dialer")):
            if not config.get(name):
                raise ConfigError(f"{name} is not set. It is required when SALESFORCE_LOGIN_URL points at a "
                                  f"Salesforce org ({login_url}): {why}. Set it in the environment.")
    config["PANEL_REVIEWERS"] = _split(config.get("PANEL_REVIEWERS"), ",", lower=True)
    config["PANEL_ADMINS"] = _split(config.get("PANEL_ADMINS"), ",", lower=True) or config["PANEL_REVIEWERS"]
    config["PANEL_FRAME_ANCESTORS"] = _split(config.get("PANEL_FRAME_ANCESTORS"), " ")
    _check(config)
    my_domain_url = _my_domain_url(my_domain_url) if my_domain_url else None
    config["SALESFORCE_MY_DOMAIN_URL"] = my_domain_url
    audience = config.get("SALESFORCE_JWT_AUDIENCE")
    config["SALESFORCE_JWT_AUDIENCE"] = _jwt_audience(audience) if audience else default_jwt_audience(
        login_url, my_domain_url)
    config.setdefault("SQLALCHEMY_DATABASE_URI", database_uri(config.get("DATABASE_URL"), instance_path))
    if not _in_memory(config["SQLALCHEMY_DATABASE_URI"]):
        config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_size": max(1, int(config["PANEL_DB_POOL_SIZE"])),
                                                        "max_overflow": 10})
    if config.get("REDIS_URL"):
        config.setdefault("CACHE_TYPE", "RedisCache")
        config.setdefault("CACHE_REDIS_URL", config["REDIS_URL"])
    config.setdefault("CACHE_TYPE", "SimpleCache")
    config.setdefault("CACHE_DEFAULT_TIMEOUT", 300)
    config.setdefault("BABEL_DEFAULT_TIMEZONE", config["PANEL_TIMEZONE"])
    return OAuthSettings(login_url=login_url, client_id=config["SALESFORCE_CLIENT_ID"],
                         client_secret=config.get("SALESFORCE_CLIENT_SECRET"),
                         api_version=config["SALESFORCE_API_VERSION"], scope=config["SALESFORCE_SCOPE"],
                         jwt_username=config.get("SALESFORCE_JWT_USERNAME"),
                         jwt_private_key=config.get("SALESFORCE_JWT_PRIVATE_KEY"),
                         my_domain_url=my_domain_url, jwt_audience=config["SALESFORCE_JWT_AUDIENCE"])


def _split(value: Any, separator: str, *, lower: bool = False) -> tuple[str, ...]:
    items = value.split(separator) if isinstance(value, str) else list(value or ())
    cleaned = (str(item).strip() for item in items)
    return tuple(item.lower() if lower else item for item in cleaned if item)


def _login_url(value: str) -> str:
    if not _salesforce_url(value):
        raise ConfigError(f"SALESFORCE_LOGIN_URL must be an https URL such as https://login.salesforce.com, "
                          f"https://test.salesforce.com or https://MyDomain.my.salesforce.com, not {value!r}")
    return value.rstrip("/")


def _my_domain_url(value: str) -> str:
    """Where the integration user's token is requested: the org's My Domain, since the client credentials flow is
    not served by login.salesforce.com or test.salesforce.com (help.salesforce.com/s/articleView?id=000886201)."""
    if not _salesforce_url(value) or is_login_server(value):
        raise ConfigError(f"SALESFORCE_MY_DOMAIN_URL must be the org's My Domain URL, such as "
                          f"https://MyDomainName.my.salesforce.com (a sandbox: "
                          f"https://MyDomainName--SandboxName.sandbox.my.salesforce.com), not {value!r}: "
                          f"login.salesforce.com and test.salesforce.com do not serve the client credentials flow")
    return value.rstrip("/")


def _jwt_audience(value: str) -> str:
    """The JWT bearer assertion's `aud`: the login server or an Experience Cloud site, never a My Domain
    (help.salesforce.com, remoteaccess_oauth_jwt_flow.htm)."""
    host = (urlsplit(value).hostname or "").lower()
    if not value.startswith("https://") or not host or host.endswith(".my.salesforce.com"):
        raise ConfigError(f"SALESFORCE_JWT_AUDIENCE must be https://login.salesforce.com, https://test.salesforce.com "
                          f"(a sandbox) or an Experience Cloud site URL, not {value!r}: Salesforce refuses an "
                          f"assertion addressed to a My Domain (invalid_grant: audience is invalid)")
    return value.rstrip("/")


def _salesforce_url(value: str) -> bool:
    """https, or http to this machine (a separately run local org)."""
    parts = urlsplit(value)
    loopback = parts.hostname == "localhost" or _is_loopback_ip(parts.hostname)
    return parts.scheme in ("https", "http") and bool(parts.hostname) and (parts.scheme == "https" or loopback)


def _is_loopback_ip(host: str | None) -> bool:
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _check(config: MutableMapping[str, Any]) -> None:
    for source in config["PANEL_FRAME_ANCESTORS"]:
        problem = frame_ancestor_problem(source)
        if problem:
            raise ConfigError(f"PANEL_FRAME_ANCESTORS must list the dialer's own origins, such as "
                              f"https://dialer.example.com, https://*.dialer.example.com (its sub-domains) or "
                              f"https://dialer.example.com:* (any port); not {source!r}: {problem}")
    if str(config.get("SESSION_COOKIE_NAME", "")).startswith("__Host-") and not config.get("SESSION_COOKIE_SECURE"):
        raise ConfigError("SESSION_COOKIE_SECURE must stay on: browsers refuse a __Host- cookie without Secure")
    if not _API_VERSION.match(str(config["SALESFORCE_API_VERSION"])):
        raise ConfigError(f"SALESFORCE_API_VERSION must look like 62.0, not {config['SALESFORCE_API_VERSION']!r}")
    try:
        ZoneInfo(config["PANEL_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"PANEL_TIMEZONE must be an IANA time zone such as Asia/Tokyo, "
                          f"not {config['PANEL_TIMEZONE']!r}") from None
    region = str(config["PANEL_DEFAULT_REGION"]).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"PANEL_DEFAULT_REGION must be a two-letter region code such as JP or US, "
                          f"not {config['PANEL_DEFAULT_REGION']!r}")
    priority = config.get("PANEL_MATCH_PRIORITY")
    if isinstance(priority, str):
        named = [part.strip() for part in priority.split(",") if part.strip()]
        if not named or any(name not in _MATCH_TYPES for name in named) or len(set(named)) != len(named):
            raise ConfigError(f"PANEL_MATCH_PRIORITY must list {', '.join(_MATCH_TYPES)} (each at most once, "
                              f"comma-separated, in the order to prefer), not {priority!r}")
        config["PANEL_MATCH_PRIORITY"] = tuple(named)  # parsed once here, not on every pop
    phone_fields = config.get("PANEL_PHONE_FIELDS")
    if isinstance(phone_fields, str):
        named = [part.strip() for part in phone_fields.split(",") if part.strip()]
        if not named or any(name.partition(".")[0] not in _MATCH_TYPES
                            or not _FIELD_API_NAME.match(name.partition(".")[2]) for name in named):
            raise ConfigError(f"PANEL_PHONE_FIELDS must list phone fields as Object.Field (Object one of "
                              f"{', '.join(_MATCH_TYPES)}, comma-separated), not {phone_fields!r}")
        config["PANEL_PHONE_FIELDS"] = tuple(named)  # parsed once here, not on every pop
    language = config.get("PANEL_TASK_LANGUAGE")
    if language and language not in ("ja", "en"):
        raise ConfigError(f"PANEL_TASK_LANGUAGE must be ja or en (or unset: each agent's language), not {language!r}")
    public_url = config.get("PANEL_PUBLIC_URL")
    if public_url:
        parts = urlsplit(str(public_url))
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(f"PANEL_PUBLIC_URL must be the panel's address as dialers reach it, such as "
                              f"https://panel.example.com, not {public_url!r}")
        config["PANEL_PUBLIC_URL"] = str(public_url).rstrip("/")
    field = config.get("PANEL_CALL_EXTERNAL_ID_FIELD")
    if field and not _FIELD_API_NAME.match(str(field)):
        raise ConfigError(f"PANEL_CALL_EXTERNAL_ID_FIELD must be a Task field's API name such as "
                          f"Panel_Call_Key__c, not {field!r}")


# A CSP host-source (https://www.w3.org/TR/CSP3/#grammardef-host-source) as PANEL_FRAME_ANCESTORS may use it:
# an optional http(s) scheme, a host (a `*.` prefix allowed), an optional port (digits or *), an optional path.
_HOST_SOURCE = re.compile(r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?"
                          r"(?P<host>\*|(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])"
                          r"(?::(?P<port>[0-9]+|\*))?(?P<path>/[^\s;,]*)?$")
# Second-level labels under which registries hand out names (co.jp, com.au, org.uk, …): `*.co.jp` is every site
# there, not one company's sub-domains. Not the whole Public Suffix List; the doctor and this check refuse the
# common ones.
_REGISTRY_LABELS = frozenset({"ac", "co", "com", "ed", "edu", "go", "gov", "gr", "lg", "ltd", "me", "ne", "net",
                              "or", "org", "plc", "sch"})


def frame_ancestor_problem(source: str) -> str | None:
    """Why one PANEL_FRAME_ANCESTORS source must not be used, or None. Allowed: 'self', 'none' and origins with a
    concrete host, including a wildcard sub-domain of a named domain (https://*.dialer.example.com) and any port on
    a concrete host (http://localhost:*). Anything else either lets whole swathes of the web frame a page full of
    callers' data (`*`, `https://*`, `https:`, `*.com`) or is not an origin at all (and would be copied into the
    Content-Security-Policy header as it stands)."""
    if source in ("'self'", "'none'"):
        return None
    found = _HOST_SOURCE.match(source)
    if found is None:
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:", source):
            return "a bare scheme lets any site frame the panel"
        return "that is not an origin"
    scheme, host = (found["scheme"] or "").lower(), found["host"].lower().rstrip(".")
    if scheme and scheme not in ("http", "https"):
        return "only http and https origins can frame the panel"
    if host == "*":
        return "a wildcard host lets any site frame the panel"
    if host.startswith("*."):
        labels = host[2:].split(".")
        if len(labels) < 2 or (len(labels) == 2 and labels[0] in _REGISTRY_LABELS and len(labels[1]) == 2):
            return f"a wildcard over {host[2:]} lets every site registered there frame the panel"
    return None


def _in_memory(uri: str) -> bool:
    """An in-memory SQLite database: one shared connection (SQLAlchemy's StaticPool), no pool to size."""
    return uri.startswith("sqlite") and (uri.rstrip("/") in ("sqlite:", "sqlite:/", "sqlite://")
                                         or ":memory:" in uri or "mode=memory" in uri)


def database_uri(database_url: str | None, instance_path: str) -> str:
    """SQLAlchemy URL; plain postgres URLs use psycopg 3 (the driver we ship), not psycopg2."""
    if not database_url:
        return "sqlite:///" + os.path.join(instance_path, "panel.sqlite3")
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix):]
    return database_url


def local_secret_key(instance_path: str) -> str:
    """The local org mode's SECRET_KEY: generated once, kept in the instance folder (mode 0600) so sessions and
    encrypted tokens survive restarts. Processes racing to create it all end up with the first one's key."""
    os.makedirs(instance_path, exist_ok=True)
    path = os.path.join(instance_path, SECRET_KEY_FILE)
    if not os.path.exists(path):
        draft = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic: the first process to link wins, the others read its key
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    with open(path, encoding="utf-8") as handle:
        key = handle.read().strip()
    if not key:
        raise ConfigError(f"{path} is empty; delete it and start again to generate a new SECRET_KEY")
    return key
