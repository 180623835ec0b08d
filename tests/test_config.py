"""Configuration from the environment: working defaults for the local org, refusals that name the variable."""

from __future__ import annotations

import os
import stat

import pytest

from panel import config as panel_config
from panel.config import ConfigError

REAL_ORG = {"SALESFORCE_LOGIN_URL": "https://login.salesforce.com", "SECRET_KEY": "s" * 32,
            "SALESFORCE_CLIENT_ID": "3MVG9-consumer-key", "SALESFORCE_CLIENT_SECRET": "consumer-secret",
            "PANEL_WEBHOOK_SECRET": "dialer-secret"}


def configure(instance, environ=None, **overrides):
    """What create_app does with the configuration: defaults, the environment, overrides, then finalize."""
    config = dict(panel_config.DEFAULTS)
    config.update(panel_config.from_environment(environ or {}))
    config.update(overrides)
    settings = panel_config.finalize(config, str(instance))
    return config, settings


# -- the local org mode ----------------------------------------------------------------------------------------

def test_with_no_environment_everything_points_at_the_embedded_local_org(tmp_path):
    config, settings = configure(tmp_path)
    assert config["LOCALORG_ENABLED"] is True
    assert settings.login_url == "http://127.0.0.1:5000/localorg"
    assert settings.authorize_url == "http://127.0.0.1:5000/localorg/services/oauth2/authorize"
    assert (settings.client_id, settings.client_secret) == ("panel-local", "panel-local-secret")
    assert config["PANEL_WEBHOOK_SECRET"] == "local-webhook-secret"
    assert config["PANEL_REVIEWERS"] == ("reviewer@example.com",)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'panel.sqlite3'}"
    assert (config["PANEL_DEFAULT_REGION"], config["PANEL_TIMEZONE"]) == ("JP", "Asia/Tokyo")
    assert config["CACHE_TYPE"] == "SimpleCache"


def test_the_local_secret_key_is_generated_once_kept_private_and_reused(tmp_path):
    first, _ = configure(tmp_path)
    second, _ = configure(tmp_path)
    assert len(first["SECRET_KEY"]) >= 32 and first["SECRET_KEY"] == second["SECRET_KEY"]
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
    assert configure(tmp_path / "elsewhere")[0]["SECRET_KEY"] != first["SECRET_KEY"]


def test_an_emptied_secret_key_file_is_refused_with_the_fix(tmp_path):
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(ConfigError, match="delete it"):
        configure(tmp_path)


def test_empty_variables_count_as_unset(tmp_path):
    config, _ = configure(tmp_path, {"SALESFORCE_LOGIN_URL": "  ", "PANEL_TIMEZONE": ""})
    assert config["LOCALORG_ENABLED"] and config["PANEL_TIMEZONE"] == "Asia/Tokyo"


# -- a real org ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["SECRET_KEY", "SALESFORCE_CLIENT_ID", "PANEL_WEBHOOK_SECRET"])
def test_a_real_org_needs_its_secrets_and_the_refusal_names_the_variable(tmp_path, missing):
    environ = {k: v for k, v in REAL_ORG.items() if k != missing}
    with pytest.raises(ConfigError, match=f"^{missing} is not set"):
        configure(tmp_path, environ)
    assert not (tmp_path / "secret_key").exists()  # nothing generated behind the operator's back


def test_a_real_org_gets_cross_site_cookies_and_no_local_defaults(tmp_path):
    config, settings = configure(tmp_path, {**REAL_ORG, "PANEL_FRAME_ANCESTORS": "https://dialer.example.com",
                                            "PANEL_REVIEWERS": " Lead@Example.com, ,qa@example.com"})
    assert config["LOCALORG_ENABLED"] is False
    assert settings.token_url == "https://login.salesforce.com/services/oauth2/token"
    assert (config["SESSION_COOKIE_SECURE"], config["SESSION_COOKIE_SAMESITE"]) == (True, "None")
    assert config["PANEL_FRAME_ANCESTORS"] == ("https://dialer.example.com",)
    assert config["PANEL_REVIEWERS"] == ("lead@example.com", "qa@example.com")


@pytest.mark.parametrize("url, expected", [
    ("https://test.salesforce.com/", "https://test.salesforce.com"),
    ("https://acme.my.salesforce.com", "https://acme.my.salesforce.com"),
    ("http://127.0.0.1:8001/localorg", "http://127.0.0.1:8001/localorg"),
])
def test_sandbox_my_domain_and_a_separately_run_local_org_are_accepted(tmp_path, url, expected):
    _, settings = configure(tmp_path, {**REAL_ORG, "SALESFORCE_LOGIN_URL": url})
    assert settings.login_url == expected


@pytest.mark.parametrize("url", ["http://login.salesforce.com", "login.salesforce.com", "ftp://x.example",
                                 "https://", "javascript:alert(1)"])
def test_a_login_url_that_is_not_https_is_refused(tmp_path, url):
    with pytest.raises(ConfigError, match="^SALESFORCE_LOGIN_URL must be an https URL"):
        configure(tmp_path, {**REAL_ORG, "SALESFORCE_LOGIN_URL": url})


def test_the_jwt_key_file_is_read_and_an_unreadable_one_is_refused(tmp_path):
    key = tmp_path / "server.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n...\n")
    _, settings = configure(tmp_path, {**REAL_ORG, "SALESFORCE_JWT_USERNAME": "integration@acme.example",
                                       "SALESFORCE_JWT_PRIVATE_KEY_FILE": str(key)})
    assert settings.uses_jwt and settings.jwt_private_key.startswith("-----BEGIN")
    with pytest.raises(ConfigError, match="^SALESFORCE_JWT_PRIVATE_KEY_FILE cannot be read"):
        configure(tmp_path, {"SALESFORCE_JWT_PRIVATE_KEY_FILE": str(tmp_path / "missing.key")})


@pytest.mark.parametrize("url, uri", [
    ("postgres://u:p@db/panel", "postgresql+psycopg://u:p@db/panel"),
    ("postgresql://u:p@db/panel", "postgresql+psycopg://u:p@db/panel"),
    ("sqlite:////var/lib/panel.db", "sqlite:////var/lib/panel.db"),
])
def test_database_url_picks_the_shipped_driver(tmp_path, url, uri):
    assert configure(tmp_path, {"DATABASE_URL": url})[0]["SQLALCHEMY_DATABASE_URI"] == uri


def test_a_busy_process_keeps_a_connection_open_for_each_of_its_threads(app):
    """Eight request threads (gunicorn's default) at once, then again: every one gets a pooled connection back
    instead of opening (and on PostgreSQL, starting a server process for) a new one."""
    import threading

    from sqlalchemy import text

    from panel.extensions import db

    barrier = threading.Barrier(9)
    seen: list[int] = []

    def busy() -> None:
        with app.app_context(), db.engine.connect() as connection:
            seen.append(id(connection.connection.dbapi_connection))
            connection.execute(text("SELECT 1"))
            barrier.wait(timeout=10)

    for _ in range(2):
        threads = [threading.Thread(target=busy) for _ in range(9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    with app.app_context():
        assert db.engine.pool.checkedin() == 9
    assert len(set(seen)) == 9, "the second round opened new connections"


def test_redis_url_moves_the_cache_to_redis(tmp_path):
    config, _ = configure(tmp_path, {"REDIS_URL": "redis://cache:6379/0"})
    assert (config["CACHE_TYPE"], config["CACHE_REDIS_URL"]) == ("RedisCache", "redis://cache:6379/0")


# -- values that cannot work -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [
    ("PANEL_TIMEZONE", "Tokyo"),
    ("PANEL_TIMEZONE", "../../etc/passwd"),
    ("PANEL_TIMEZONE", "Asia/Tokyo\x00"),
    ("PANEL_DEFAULT_REGION", "Japan"),
    ("PANEL_DEFAULT_REGION", "XX"),
    ("SALESFORCE_API_VERSION", "v62"),
    ("SALESFORCE_API_VERSION", "62"),
    ("PANEL_LOCALORG_SEARCH_LAG_S", "a minute"),
    ("PANEL_LOCALORG_SEARCH_LAG_S", "-1"),
    ("PANEL_LOCALORG_LATENCY_MS", "1.5"),
    ("PANEL_POP_CACHE_TTL_S", "sixty"),
    ("PANEL_POP_LAST_KNOWN_TTL_S", "-5"),
    ("PANEL_SEARCH_LAG_S", "15m"),
    ("PANEL_CALL_RETRY_FOR_S", "1 day"),
    ("PANEL_CALL_TIMEOUT_S", "-1"),
    ("PANEL_LOG_MISSED_CALLS", "maybe"),
    ("PANEL_LOG_INTERNAL_CALLS", "2"),
    ("PANEL_MATCH_PRIORITY", "Contact,Opportunity"),
    ("PANEL_MATCH_PRIORITY", "Contact,Contact,Lead"),
    ("PANEL_MATCH_PRIORITY", " , "),
    ("PANEL_PHONE_FIELDS", "Opportunity.Phone"),
    ("PANEL_PHONE_FIELDS", "Contact.Phone 2"),
    ("PANEL_TASK_LANGUAGE", "fr"),
    ("PANEL_CALL_EXTERNAL_ID_FIELD", "Call Key"),
    ("PANEL_CALL_EXTERNAL_ID_FIELD", "x/../Id"),
    ("PANEL_DB_POOL_SIZE", "ten"),
])
def test_a_bad_value_is_refused_naming_the_variable_and_the_value(tmp_path, name, value):
    with pytest.raises(ConfigError, match=f"^{name} ") as refused:
        configure(tmp_path, {name: value})
    if name != "PANEL_MATCH_PRIORITY" or value.strip(" ,"):
        assert repr(value) in str(refused.value) or "negative" in str(refused.value)


@pytest.mark.parametrize("name, value, expected", [
    ("PANEL_LOG_MISSED_CALLS", "yes", True),
    ("PANEL_LOG_MISSED_CALLS", "OFF", False),
    ("PANEL_POP_CACHE_TTL_S", "30", 30),
    ("PANEL_CALL_RETRY_FOR_S", "3600.5", 3600.5),
    ("PANEL_MATCH_PRIORITY", "Lead, Contact, Account", ("Lead", "Contact", "Account")),
    ("PANEL_PHONE_FIELDS", "Contact.Phone, Contact.Phone2__c", ("Contact.Phone", "Contact.Phone2__c")),
    ("PANEL_TASK_LANGUAGE", "en", "en"),
    ("PANEL_CALL_EXTERNAL_ID_FIELD", "Panel_Call_Key__c", "Panel_Call_Key__c"),
    ("PANEL_DEFAULT_REGION", "us", "us"),
])
def test_good_values_reach_the_app_config(tmp_path, name, value, expected):
    assert configure(tmp_path, {name: value})[0][name] == expected


def test_create_app_refuses_to_start_without_the_secret_key_for_a_real_org(monkeypatch, tmp_path):
    from panel import create_app

    for name, value in REAL_ORG.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}"})
    monkeypatch.setenv("PANEL_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    with pytest.raises(ConfigError, match="PANEL_TIMEZONE"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}"})


# -- who may frame the panel ------------------------------------------------------------------------------------------

ANY_SITE = ["*", "https://*", "http://*:*", "https://*:443", "*:*", "https:", "http:", "'self' *",
            "http: https://dialer.example.com", "*.com", "https://*.com", "https://*.co.jp", "https://*.jp:*",
            "*.", "https://*.example.com https://*"]
NOT_AN_ORIGIN = ["https://dialer.example.com; script-src *", "https://dialer.example.com,https://evil.example",
                 "'unsafe-inline'", "data:", "ftp://dialer.example.com", "https://", "javascript:alert(1)"]


@pytest.mark.parametrize("ancestors", ANY_SITE + NOT_AN_ORIGIN)
def test_frame_ancestors_that_let_any_site_frame_the_panel_are_refused_with_a_real_org(tmp_path, ancestors):
    with pytest.raises(ConfigError) as refused:
        configure(tmp_path, {**REAL_ORG, "PANEL_FRAME_ANCESTORS": ancestors})
    message = str(refused.value)
    assert message.startswith("PANEL_FRAME_ANCESTORS") and "https://dialer.example.com" in message  # what is allowed


@pytest.mark.parametrize("ancestors", ANY_SITE + NOT_AN_ORIGIN)
def test_the_local_org_refuses_them_too(tmp_path, ancestors):
    with pytest.raises(ConfigError, match="^PANEL_FRAME_ANCESTORS"):
        configure(tmp_path, {"PANEL_FRAME_ANCESTORS": ancestors})


@pytest.mark.parametrize("ancestors", [
    "https://dialer.example.com", "https://*.dialer.example.com", "https://dialer.example.com:8443",
    "https://*.phone.example.net:*", "'self' https://a.example.com https://b.example.co.jp", "dialer.example.com",
    "https://*.example.co.jp", "https://dialer.example.com/", "http://127.0.0.1:* http://localhost:*",
    "https://[2001:db8::1]:8443", "HTTPS://Dialer.Example.COM",
])
def test_concrete_origins_and_wildcard_subdomains_of_a_named_domain_are_accepted(tmp_path, ancestors):
    config, _ = configure(tmp_path, {**REAL_ORG, "PANEL_FRAME_ANCESTORS": ancestors})
    assert config["PANEL_FRAME_ANCESTORS"] == tuple(ancestors.split())


def test_the_local_org_default_keeps_the_demo_hosts_on_any_port(tmp_path):
    config, _ = configure(tmp_path)
    assert config["PANEL_FRAME_ANCESTORS"] == ("'self'", "http://127.0.0.1:*", "http://localhost:*")
