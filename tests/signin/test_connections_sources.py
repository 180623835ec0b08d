"""Where tokens come from: agents sign in at SALESFORCE_LOGIN_URL, the integration user's token comes from the
org's My Domain (SALESFORCE_MY_DOMAIN_URL: client credentials are served nowhere else), and a JWT bearer assertion
is addressed to the login server (SALESFORCE_JWT_AUDIENCE), never the My Domain. Against the local org, which
answers as a production org's My Domain and checks `aud` as Salesforce does."""

from __future__ import annotations

import pytest

from panel import create_app
from panel.config import ConfigError
from panel.localorg.seed import IDS

README_ORG = {"TESTING": True, "SECRET_KEY": "test-secret-key", "SALESFORCE_LOGIN_URL": "https://login.salesforce.com",
              "SALESFORCE_CLIENT_ID": "panel-local", "SALESFORCE_CLIENT_SECRET": "panel-local-secret",
              "PANEL_WEBHOOK_SECRET": "a-long-random-webhook-secret", "PANEL_JOBS_MEMORY": True,
              "CACHE_TYPE": "SimpleCache"}


def readme_app(localorg, tmp_path, **overrides):
    """The README's configuration, with the org's My Domain being the local org."""
    return create_app({**README_ORG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'panel.sqlite3'}",
                       "SALESFORCE_MY_DOMAIN_URL": localorg.url, **overrides})


def integration_user_id(app) -> str:
    from panel.signin import connections

    with app.app_context():
        client, _ = connections.integration_client()
        return client.query("SELECT Id FROM User WHERE Username = 'integration@example.com'")["records"][0]["Id"]


def test_the_integration_connection_configured_as_the_readme_says_works(localorg, tmp_path):
    app = readme_app(localorg, tmp_path)
    assert integration_user_id(app) == IDS["user.integration"]
    settings = app.extensions["panel.oauth_settings"]
    assert settings.authorize_url == "https://login.salesforce.com/services/oauth2/authorize"  # agents, unchanged


def test_the_jwt_bearer_flow_is_addressed_to_the_login_server_and_served_by_the_my_domain(localorg, tmp_path):
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048)
    localorg.admin("connected_app", jwt_certificate=key.as_pem(private=False).decode())
    app = readme_app(localorg, tmp_path, SALESFORCE_CLIENT_SECRET=None, SALESFORCE_JWT_USERNAME="integration@example.com",
                     SALESFORCE_JWT_PRIVATE_KEY=key.as_pem(private=True).decode())
    assert app.extensions["panel.oauth_settings"].assertion_audience == "https://login.salesforce.com"
    assert integration_user_id(app) == IDS["user.integration"]


@pytest.mark.parametrize("my_domain, audience", [
    ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
    ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
])
def test_the_jwt_audience_follows_the_org(tmp_path, my_domain, audience):
    app = create_app({**README_ORG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}",
                      "SALESFORCE_LOGIN_URL": my_domain})
    settings = app.extensions["panel.oauth_settings"]
    assert (settings.integration_url, settings.assertion_audience) == (my_domain, audience)


def test_without_a_my_domain_the_client_credentials_are_not_sent_to_the_login_server(localorg, tmp_path):
    from panel.salesforce.errors import SalesforceRequestError

    app = readme_app(localorg, tmp_path, SALESFORCE_MY_DOMAIN_URL=None)
    with app.app_context(), pytest.raises(SalesforceRequestError, match="My Domain"):
        from panel.signin import connections

        connections.integration_client()


@pytest.mark.parametrize("name, value, named", [
    ("SALESFORCE_MY_DOMAIN_URL", "https://login.salesforce.com", "do not serve the client credentials flow"),
    ("SALESFORCE_MY_DOMAIN_URL", "https://test.salesforce.com/", "do not serve the client credentials flow"),
    ("SALESFORCE_MY_DOMAIN_URL", "http://acme.my.salesforce.com", "My Domain URL"),
    ("SALESFORCE_JWT_AUDIENCE", "https://acme.my.salesforce.com", "audience is invalid"),
    ("SALESFORCE_JWT_AUDIENCE", "login.salesforce.com", "https://login.salesforce.com"),
])
def test_a_token_source_salesforce_would_refuse_stops_the_start_naming_the_variable(tmp_path, name, value, named):
    with pytest.raises(ConfigError, match=name) as refused:
        create_app({**README_ORG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}", name: value})
    assert named in str(refused.value)


def test_the_settings_are_read_from_the_environment():
    from panel.config import from_environment

    found = from_environment({"SALESFORCE_MY_DOMAIN_URL": " https://acme.my.salesforce.com ",
                              "SALESFORCE_JWT_AUDIENCE": "https://test.salesforce.com"})
    assert found == {"SALESFORCE_MY_DOMAIN_URL": "https://acme.my.salesforce.com",
                     "SALESFORCE_JWT_AUDIENCE": "https://test.salesforce.com"}
