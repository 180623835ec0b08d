"""The connection check (`flask panel doctor`, `/admin/doctor`) against the local org: a working setup passes, and
each broken one is reported with the setting or Salesforce screen that fixes it."""

from __future__ import annotations

import re

import pytest

from panel import create_app
from panel.ops.doctor import CALL_FIELDS, POP_SEARCH_FIELDS, check_configuration, check_describes
from panel.salesforce import queries
from tests.conftest import sign_in
from tests.test_languages import assert_in_language


def make_app(localorg, tmp_path, **overrides):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "LOCALORG_URL": localorg.url,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'panel.sqlite3'}",
                       "PANEL_JOBS_MEMORY": True, "CACHE_TYPE": "SimpleCache", **overrides})


def doctor(app, *args):
    return app.test_cli_runner().invoke(args=["panel", "doctor", "--lang", "en", *args])


def findings(html: str) -> dict[str, bool]:
    return {key: ok == "true" for key, ok in re.findall(r'data-check="([^"]+)"\s+data-ok="(true|false)"', html)}


# -- the command ----------------------------------------------------------------------------------------------------

def test_the_local_org_passes_every_check(app, localorg):
    result = doctor(app)
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    for expected in ("The org answers", "REST API version 62.0", "Read Contact", "Read Account", "Read Lead",
                     "Screen pop fields on Contact: All visible.", "Screen pop fields on Account: All visible.",
                     "Screen pop fields on Lead: All visible.",
                     "Create Task", "Call fields on Task", "Everything is ready."):
        assert expected in result.output
    assert "local-webhook-secret" not in result.output  # secrets are never printed


def test_salesforce_failing_is_reported_with_how_to_fix_it(app, localorg):
    localorg.admin("faults", error_rate=1, error_status=503)
    result = doctor(app)
    assert result.exit_code == 1
    assert re.search(r"FAIL API access: Salesforce did not answer: Server temporarily unavailable", result.output)
    assert "Fix: Salesforce answered but could not serve the request (HTTP 503)" in result.output
    assert "1 problem to fix." in result.output


def test_an_org_that_cannot_be_reached_fails_the_first_check(localorg, tmp_path):
    app = make_app(localorg, tmp_path, LOCALORG_URL="http://127.0.0.1:9/localorg")
    result = doctor(app)
    assert result.exit_code == 1
    assert "FAIL The org answers: http://127.0.0.1:9/localorg did not answer" in result.output
    assert "Read Contact" not in result.output  # nothing after an unreachable org is worth checking


def test_a_wrong_client_secret_names_the_settings_to_check(localorg, tmp_path):
    app = make_app(localorg, tmp_path, SALESFORCE_CLIENT_SECRET="not-the-secret")
    result = doctor(app)
    assert result.exit_code == 1
    assert "FAIL The org answers: The sign-in was refused" in result.output
    assert "Check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET" in result.output


def test_an_api_version_the_org_does_not_offer_is_named_with_the_newest(localorg, tmp_path):
    app = make_app(localorg, tmp_path, SALESFORCE_API_VERSION="40.0")
    result = doctor(app)
    assert result.exit_code == 1
    assert "This org does not offer version 40.0 (newest: 62.0)" in result.output
    assert "Set SALESFORCE_API_VERSION to a version the org offers, such as 62.0" in result.output


def test_a_real_org_with_the_local_webhook_secret_and_no_dialer_origin_fails(localorg, tmp_path):
    app = make_app(localorg, tmp_path, SALESFORCE_LOGIN_URL=localorg.url, SALESFORCE_CLIENT_ID="panel-local",
                   SALESFORCE_CLIENT_SECRET="panel-local-secret", PANEL_WEBHOOK_SECRET="local-webhook-secret")
    result = doctor(app)
    assert result.exit_code == 1
    assert "FAIL Webhook secret (PANEL_WEBHOOK_SECRET): It is the documented local default" in result.output
    assert "FAIL Dialer origins (PANEL_FRAME_ANCESTORS): No dialer origin is allowed" in result.output
    assert "Set PANEL_FRAME_ANCESTORS to the dialer's origins" in result.output
    assert "2 problems to fix." in result.output


def test_the_report_can_be_in_japanese(app, localorg):
    result = app.test_cli_runner().invoke(args=["panel", "doctor", "--lang", "ja"])
    assert result.exit_code == 0, result.output
    assert "取引先責任者 (Contact) の参照" in result.output and "すべて準備できています。" in result.output


# -- the rules on their own -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("settings, key, ok", [
    ({"PANEL_WEBHOOK_SECRET": None}, "config.webhook_secret", False),
    ({"PANEL_WEBHOOK_SECRET": "short-secret"}, "config.webhook_secret", False),
    ({"PANEL_WEBHOOK_SECRET": "local-webhook-secret"}, "config.webhook_secret", True),  # local org: fine
    ({"PANEL_WEBHOOK_SECRET": "local-webhook-secret", "SALESFORCE_LOGIN_URL": "https://login.salesforce.com"},
     "config.webhook_secret", False),
    ({"PANEL_WEBHOOK_SECRET": "x" * 40, "SALESFORCE_LOGIN_URL": "https://login.salesforce.com"},
     "config.webhook_secret", True),
    ({"PANEL_FRAME_ANCESTORS": ("*",)}, "config.frame_ancestors", False),
    ({"PANEL_FRAME_ANCESTORS": ("'self'", "https:")}, "config.frame_ancestors", False),
    ({"PANEL_FRAME_ANCESTORS": ("'self'",)}, "config.frame_ancestors", False),
    ({"PANEL_FRAME_ANCESTORS": ("'self'", "http://127.0.0.1:*")}, "config.frame_ancestors", True),
    ({"PANEL_FRAME_ANCESTORS": ("http://dialer.example.com",), "SALESFORCE_LOGIN_URL": "https://login.salesforce.com"},
     "config.frame_ancestors", False),
    ({"PANEL_FRAME_ANCESTORS": ("https://dialer.example.com",), "SALESFORCE_LOGIN_URL": "https://x.my.salesforce.com"},
     "config.frame_ancestors", True),
])
def test_configuration_rules(app, settings, key, ok):
    with app.test_request_context("/?lang=en"):
        found = {finding.key: finding for finding in check_configuration(settings)}
    assert found[key].ok is ok
    assert bool(found[key].fix) is (not ok)


def _describe(queryable=True, createable=True, fields=()):
    return {"queryable": queryable, "createable": createable,
            "fields": [{"name": name, "createable": writable, "externalId": name.endswith("__c")}
                       for name, writable in fields]}


def test_missing_or_locked_call_fields_are_named(app):
    task = _describe(fields=[("CallObject", True), ("CallType", True), ("CallDurationInSeconds", True),
                             ("TaskSubtype", False)])
    describes = {"Contact": _describe(), "Account": _describe(queryable=False), "Lead": None, "Task": task}
    with app.test_request_context("/?lang=en"):
        found = {finding.key: finding for finding in check_describes(describes)}
    assert found["object.Contact"].ok and not found["object.Account"].ok and not found["object.Lead"].ok
    assert found["task.fields"].detail == "not visible: CallDisposition; not writable: TaskSubtype"
    assert "field-level security" in found["task.fields"].fix


def _readable_with(hidden: tuple[str, str] | None = None):
    """Describes of a user who may read everything, except the one (object, field) field-level security hides."""
    describes = {sobject: _describe(fields=[(name, False) for name in POP_SEARCH_FIELDS[sobject]
                                            if (sobject, name) != hidden])
                 for sobject in ("Contact", "Account", "Lead")}
    describes["Task"] = _describe(fields=[(name, True) for name in CALL_FIELDS])
    return describes


@pytest.mark.parametrize("sobject, name", [(sobject, name) for sobject, names in POP_SEARCH_FIELDS.items()
                                           for name in names])
def test_a_phone_field_hidden_from_the_user_is_named_with_the_permission_to_grant(app, sobject, name):
    with app.test_request_context("/?lang=en"):
        found = {finding.key: finding for finding in check_describes(_readable_with((sobject, name)))}
    failed = [finding for finding in found.values() if not finding.ok]
    assert [finding.key for finding in failed] == [f"search.{sobject}"]
    assert failed[0].detail.startswith(f"Hidden from this user: {name}.")
    assert f"grant Read access to {name} on {sobject}" in failed[0].fix
    assert "profile or a permission set" in failed[0].fix and "Field-Level Security" in failed[0].fix


def test_a_user_who_sees_every_searched_field_passes_the_screen_pop_checks(app):
    with app.test_request_context("/?lang=en"):
        found = {finding.key: finding for finding in check_describes(_readable_with())}
    assert all(found[f"search.{sobject}"].ok for sobject in ("Contact", "Account", "Lead"))


def test_the_check_covers_every_field_the_screen_pop_search_names(app):
    sosl = re.sub(r"toLabel\(([\w.]+)\)", r"\1", queries.screen_pop_phone_search("{03-1234-5678}"))
    for sobject, fields in re.findall(r"(Contact|Account|Lead)\(([^)]*)\)", sosl):
        named = set(re.findall(r"\b(\w*Phone|IsConverted)\b", fields))
        assert named and named <= set(POP_SEARCH_FIELDS[sobject]), (sobject, named)


def test_a_user_who_cannot_create_tasks_is_told_which_permission_to_ask_for(app):
    describes = {name: _describe() for name in ("Contact", "Account", "Lead")}
    describes["Task"] = _describe(createable=False, fields=[(name, True) for name in CALL_FIELDS])
    with app.test_request_context("/?lang=en"):
        found = {finding.key: finding for finding in check_describes(describes)}
    assert not found["object.Task"].ok and "Edit Tasks" in found["object.Task"].fix
    assert "task.fields" not in found


def test_the_configured_external_id_field_must_exist_and_be_an_external_id(app):
    describes = {name: _describe() for name in ("Contact", "Account", "Lead")}
    describes["Task"] = _describe(fields=[*((name, True) for name in CALL_FIELDS), ("Call_Key__c", True),
                                          ("Plain_Text", True)])
    with app.test_request_context("/?lang=en"):
        good = {finding.key: finding for finding in check_describes(describes, "Call_Key__c")}
        missing = {finding.key: finding for finding in check_describes(describes, "Other_Key__c")}
        plain = {finding.key: finding for finding in check_describes(describes, "Plain_Text")}
    assert good["task.fields"].ok and "task.external_id" not in good
    assert "not visible: Other_Key__c" in missing["task.fields"].detail
    assert not plain["task.external_id"].ok


# -- the admin page ---------------------------------------------------------------------------------------------------

def test_an_admin_sees_every_check_including_their_own_access(client, localorg):
    sign_in(client, localorg, "reviewer@example.com")
    page = client.get("/admin/doctor")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    results = findings(page.text)
    assert results and all(results.values()), results
    assert "You (reviewer@example.com)" in page.text
    assert 'id="doctor" class="doctor" data-ok="true"' in page.text
    assert page.text.count('data-check="task.fields"') == 2  # the integration user and the signed-in user


def test_the_page_shows_failures_with_their_fix(client, localorg):
    sign_in(client, localorg, "reviewer@example.com")
    localorg.admin("faults", error_rate=1, error_status=503)
    page = client.get("/admin/doctor")
    assert page.status_code == 200
    assert 'data-ok="false"' in page.text
    assert findings(page.text)["org.api_access"] is False
    assert "https://status.salesforce.com" in page.text


def test_the_page_names_a_phone_field_the_org_hides_from_the_admin(client, localorg):
    sign_in(client, localorg, "reviewer@example.com")
    localorg.admin("field_security", username="reviewer@example.com", hidden=["Contact.HomePhone"])
    page = client.get("/admin/doctor?lang=en")
    assert page.status_code == 200 and 'data-ok="false"' in page.text
    assert "Hidden from this user: HomePhone. The screen pop leaves them out" in page.text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_page_is_in_the_chosen_language(client, localorg, lang):
    sign_in(client, localorg, "reviewer@example.com")
    page = client.get(f"/admin/doctor?lang={lang}")
    # Object names keep their API name beside the label ("取引先責任者 (Contact)"): Setup finds objects by either.
    assert_in_language(page, lang, re.sub(r" \((Contact|Account|Lead|Task)\)", "", page.text))


def test_only_admins_may_open_the_page(client, localorg):
    sign_in(client, localorg, "agent@example.com")
    assert client.get("/admin/doctor").status_code == 403


def test_panel_admins_replaces_the_reviewers_as_the_admins(localorg, tmp_path):
    app = make_app(localorg, tmp_path, PANEL_ADMINS="Agent@Example.com")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(client, localorg, "agent@example.com")
    assert client.get("/admin/doctor").status_code == 200
    other = app.test_client()
    sign_in(other, localorg, "reviewer@example.com")
    assert other.get("/admin/doctor").status_code == 403


def test_signed_out_visitors_are_not_shown_the_page(client, localorg):
    response = client.get("/admin/doctor")
    assert response.status_code in (302, 401)
    assert "data-check" not in response.text


# -- who may frame the panel ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("sources, named", [
    (("https://*",), "https://*"),
    (("'self'", "http://*:*"), "http://*:*"),
    (("https://dialer.example.com", "*.com"), "*.com"),
    (("https://*.co.jp",), "https://*.co.jp"),
    (("https:",), "https:"),
    (("https://dialer.example.com;", "script-src"), "https://dialer.example.com;"),
])
def test_frame_ancestors_that_let_whole_swathes_of_the_web_frame_the_panel_fail(app, sources, named):
    for real_org in ({}, {"SALESFORCE_LOGIN_URL": "https://login.salesforce.com"}):
        with app.test_request_context("/?lang=en"):
            found = {f.key: f for f in check_configuration({"PANEL_FRAME_ANCESTORS": sources, **real_org})}
        finding = found["config.frame_ancestors"]
        assert finding.ok is False and named in finding.detail
        assert "https://*.dialer.example.com" in finding.fix  # what is allowed instead


@pytest.mark.parametrize("sources", [("https://*.dialer.example.com",), ("https://dialer.example.com:*",),
                                     ("'self'", "https://a.example.com", "https://*.b.example.co.jp")])
def test_concrete_dialer_origins_pass(app, sources):
    with app.test_request_context("/?lang=en"):
        found = {f.key: f for f in check_configuration({"PANEL_FRAME_ANCESTORS": sources,
                                                        "SALESFORCE_LOGIN_URL": "https://login.salesforce.com"})}
    assert found["config.frame_ancestors"].ok, found["config.frame_ancestors"].detail


def test_the_command_fails_on_a_wildcard_origin_however_it_got_into_the_configuration(app, localorg):
    app.config["PANEL_FRAME_ANCESTORS"] = ("'self'", "https://*")  # start-up refuses it; the check does not trust that
    result = doctor(app)
    assert result.exit_code == 1
    assert "FAIL Dialer origins (PANEL_FRAME_ANCESTORS): https://*" in result.output


# -- where tokens come from -----------------------------------------------------------------------------------------

REAL_ORG = {"SALESFORCE_LOGIN_URL": "https://login.salesforce.com", "SALESFORCE_CLIENT_ID": "panel-local",
            "SALESFORCE_CLIENT_SECRET": "panel-local-secret", "PANEL_WEBHOOK_SECRET": "a-long-random-webhook-secret",
            "PANEL_FRAME_ANCESTORS": "https://dialer.example.com"}


def test_the_readme_configuration_with_the_orgs_my_domain_passes(localorg, tmp_path):
    app = make_app(localorg, tmp_path, **REAL_ORG, SALESFORCE_MY_DOMAIN_URL=localorg.url)
    result = doctor(app)
    assert result.exit_code == 0, result.output
    assert (f"OK   Where tokens come from: Agents sign in at https://login.salesforce.com; the integration user's "
            f"token comes from {localorg.url} (client credentials).") in result.output


def test_client_credentials_without_the_my_domain_name_the_setting_to_set(localorg, tmp_path):
    app = make_app(localorg, tmp_path, **REAL_ORG)
    result = doctor(app)
    assert result.exit_code == 1
    assert "FAIL Where tokens come from: The integration user signs in with client credentials" in result.output
    assert "FAIL The org answers: The sign-in was refused: client credentials sign-in needs the org's My Domain" \
        in result.output
    assert result.output.count("Fix: Set SALESFORCE_MY_DOMAIN_URL to the org's My Domain URL") == 2
    assert "2 problems to fix." in result.output


def test_a_jwt_audience_salesforce_refuses_is_named(localorg, tmp_path):
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048)
    localorg.admin("connected_app", jwt_certificate=key.as_pem(private=False).decode())
    app = make_app(localorg, tmp_path, SALESFORCE_JWT_USERNAME="integration@example.com",
                   SALESFORCE_JWT_PRIVATE_KEY=key.as_pem(private=True).decode(),
                   SALESFORCE_JWT_AUDIENCE="https://test.salesforce.com")  # the local org is a production org
    result = doctor(app)
    assert result.exit_code == 1
    assert ("FAIL Where tokens come from: The JWT bearer audience (SALESFORCE_JWT_AUDIENCE) is "
            "https://test.salesforce.com, but " + localorg.url + " is a production org.") in result.output
    assert "Fix: Set SALESFORCE_JWT_AUDIENCE to https://login.salesforce.com, or unset it" in result.output
    assert "FAIL The org answers: The sign-in was refused: JWT bearer sign-in refused: invalid_grant (audience is " \
           "invalid)" in result.output
    assert "Fix: Salesforce wants the JWT addressed to its login server, not to https://test.salesforce.com" \
        in result.output


def test_a_sandbox_my_domain_with_the_production_audience_is_named():
    from panel.ops.doctor import check_token_sources
    from panel.salesforce.oauth import OAuthSettings

    settings = OAuthSettings(login_url="https://test.salesforce.com", client_id="x", jwt_username="i@example.com",
                             jwt_private_key="PEM", my_domain_url="https://acme--uat.sandbox.my.salesforce.com",
                             jwt_audience="https://login.salesforce.com")
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.test_request_context(headers={"Accept-Language": "en"}):
        finding = check_token_sources(settings)
    assert (finding.key, finding.ok) == ("config.token_sources", False)
    assert "is a sandbox" in finding.detail and "https://test.salesforce.com" in finding.fix


# -- an edition without API access ------------------------------------------------------------------------------------

def test_an_org_without_api_access_is_named_with_the_editions_that_have_it(app, localorg):
    localorg.admin("org", api_enabled=False)
    result = doctor(app)
    assert result.exit_code == 1
    assert "FAIL API access: Salesforce signed this user in but refuses every API call (API_DISABLED_FOR_ORG)" \
        in result.output
    assert "Professional Edition without the API add-on, or Essentials" in result.output
    assert "Fix: Ask Salesforce (your account executive) to add API access to the org" in result.output
    assert "Read Contact" not in result.output  # nothing after a refused API is worth checking


def test_the_page_says_it_in_japanese_too(client, localorg):
    sign_in(client, localorg, "reviewer@example.com")
    localorg.admin("org", api_enabled=False)
    page = client.get("/admin/doctor?lang=ja")
    assert page.status_code == 200 and findings(page.text)["org.api_access"] is False
    assert "すべての API コールを拒否しています" in page.text and "API アドオン" in page.text
