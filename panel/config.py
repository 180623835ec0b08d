"""Configuration: built-in defaults, then environment variables, then the overrides `create_app` is given.

The environment variable names are a contract (see README.md, "Configuration"). Two modes follow from
`SALESFORCE_LOGIN_URL`:

- unset: the embedded local org. Everything has a working default: the login URL is `LOCALORG_URL` (where
  `panel.serve` mounts the local org), the client is the local org's `panel-local`, a SECRET_KEY is generated once
  and kept in the instance folder, the webhook secret is the documented `local-webhook-secret`.
- set: a real org or sandbox. Secrets must come from the environment; the app refuses to start without them.

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

from panel.salesforce.oauth import DEFAULT_SCOPE, OAuthSettings

LOCAL_CLIENT_ID = "panel-local"
LOCAL_CLIENT_SECRET = "panel-local-secret"
LOCAL_WEBHOOK_SECRET = "local-webhook-secret"
LOCAL_REVIEWERS = "reviewer@example.com"
LOCAL_FRAME_ANCESTORS = "'self' http://127.0.0.1:* http://localhost:*"
DEFAULT_LOCALORG_URL = "http://127.0.0.1:5000/localorg"
SECRET_KEY_FILE = "secret_key"

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "SALESFORCE_LOGIN_URL": None,
    "SALESFORCE_CLIENT_ID": None,
    "SALESFORCE_CLIENT_SECRET": None,
    "SALESFORCE_API_VERSION": "62.0",
    "SALESFORCE_SCOPE": DEFAULT_SCOPE,
    "SALESFORCE_JWT_USERNAME": None,
    "SALESFORCE_JWT_PRIVATE_KEY": None,
    "DATABASE_URL": None,
    "REDIS_URL": None,
    "PANEL_TOKEN_KEY": None,
    "PANEL_WEBHOOK_SECRET": None,
    "PANEL_DEFAULT_REGION": "JP",
    "PANEL_TIMEZONE": "Asia/Tokyo",
    "PANEL_FRAME_ANCESTORS": None,
    "PANEL_REVIEWERS": None,
    "PANEL_LOCALORG_SEARCH_LAG_S": 60.0,
    "PANEL_LOCALORG_LATENCY_MS": 0,
    "LOCALORG_URL": None,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_NAME": "panel_session",
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session: a sidebar stays open all day
    "BABEL_DEFAULT_LOCALE": "ja",
}

_STRINGS = ("SECRET_KEY", "SALESFORCE_LOGIN_URL", "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET",
            "SALESFORCE_API_VERSION", "SALESFORCE_SCOPE", "SALESFORCE_JWT_USERNAME", "DATABASE_URL", "REDIS_URL",
            "PANEL_TOKEN_KEY", "PANEL_WEBHOOK_SECRET", "PANEL_DEFAULT_REGION", "PANEL_TIMEZONE",
            "PANEL_FRAME_ANCESTORS", "PANEL_REVIEWERS")
_API_VERSION = re.compile(r"^\d{2,3}\.0$")


class ConfigError(RuntimeError):
    """The configuration cannot work; the message names the variable and the fix."""


def from_environment(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The settings the environment gives; empty variables count as unset."""
    found: dict[str, Any] = {name: environ[name].strip() for name in _STRINGS if environ.get(name, "").strip()}
    if environ.get("PANEL_LOCALORG_SEARCH_LAG_S", "").strip():
        found["PANEL_LOCALORG_SEARCH_LAG_S"] = _number(environ, "PANEL_LOCALORG_SEARCH_LAG_S", float)
    if environ.get("PANEL_LOCALORG_LATENCY_MS", "").strip():
        found["PANEL_LOCALORG_LATENCY_MS"] = _number(environ, "PANEL_LOCALORG_LATENCY_MS", int)
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
        config["PANEL_REVIEWERS"] = config.get("PANEL_REVIEWERS") or LOCAL_REVIEWERS
        config["PANEL_FRAME_ANCESTORS"] = config.get("PANEL_FRAME_ANCESTORS") or LOCAL_FRAME_ANCESTORS
        login_url = config["LOCALORG_URL"]
    else:
        login_url = _login_url(config["SALESFORCE_LOGIN_URL"])
        config["SALESFORCE_LOGIN_URL"] = login_url
        for name, why in (("SECRET_KEY", "it signs sessions and encrypts the stored Salesforce tokens"),
                          ("SALESFORCE_CLIENT_ID", "it is the connected app's consumer key"),
                          ("PANEL_WEBHOOK_SECRET", "it authenticates call events from the dialer")):
            if not config.get(name):
                raise ConfigError(f"{name} is not set. It is required when SALESFORCE_LOGIN_URL points at a "
                                  f"Salesforce org ({login_url}): {why}. Set it in the environment.")
        config.setdefault("SESSION_COOKIE_SECURE", True)
        config.setdefault("SESSION_COOKIE_SAMESITE", "None")  # the panel lives in a dialer's cross-site iframe
    config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    config["PANEL_REVIEWERS"] = _split(config.get("PANEL_REVIEWERS"), ",", lower=True)
    config["PANEL_FRAME_ANCESTORS"] = _split(config.get("PANEL_FRAME_ANCESTORS"), " ")
    _check(config)
    config.setdefault("SQLALCHEMY_DATABASE_URI", database_uri(config.get("DATABASE_URL"), instance_path))
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
                         jwt_private_key=config.get("SALESFORCE_JWT_PRIVATE_KEY"))


def _split(value: Any, separator: str, *, lower: bool = False) -> tuple[str, ...]:
    items = value.split(separator) if isinstance(value, str) else list(value or ())
    cleaned = (str(item).strip() for item in items)
    return tuple(item.lower() if lower else item for item in cleaned if item)


def _login_url(value: str) -> str:
    parts = urlsplit(value)
    loopback = parts.hostname == "localhost" or _is_loopback_ip(parts.hostname)
    if parts.scheme not in ("https", "http") or not parts.hostname or (parts.scheme == "http" and not loopback):
        raise ConfigError(f"SALESFORCE_LOGIN_URL must be an https URL such as https://login.salesforce.com, "
                          f"https://test.salesforce.com or https://MyDomain.my.salesforce.com, not {value!r}")
    return value.rstrip("/")


def _is_loopback_ip(host: str | None) -> bool:
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _check(config: Mapping[str, Any]) -> None:
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
