"""The Salesforce boundary (panel.salesforce.client) against the local org over real HTTP: every operation the app
uses, token renewal, usage reading, and the few error types callers tell apart."""

from __future__ import annotations

import pytest

from panel.localorg.seed import IDS
from panel.salesforce.client import SalesforceClient, integration_client
from panel.salesforce.errors import NotFound, ReconnectRequired, SalesforceRequestError, SalesforceUnavailable
from panel.salesforce.oauth import OAuthSettings, TokenResponse
from tests.conftest import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET


@pytest.fixture
def settings(localorg) -> OAuthSettings:
    return OAuthSettings(login_url=localorg.url, client_id=LOCAL_CLIENT_ID, client_secret=LOCAL_CLIENT_SECRET)


@pytest.fixture
def client(settings) -> SalesforceClient:
    return integration_client(settings)


def test_create_read_update_upsert_and_delete(client):
    contact_id = client.create("Contact", {"LastName": "境界", "Phone": "03-0000-1111"})
    assert client.get("Contact", contact_id, ["Name", "Phone"])["Name"] == "境界"
    client.update("Contact", contact_id, {"Title": "主任"})
    assert client.query(f"SELECT Title FROM Contact WHERE Id = '{contact_id}'")["records"][0]["Title"] == "主任"
    first = client.upsert("Task", "Panel_Call_Key__c", "k/1 あ", {"Subject": "通話"})
    second = client.upsert("Task", "Panel_Call_Key__c", "k/1 あ", {"Subject": "通話 2"})
    assert first["created"] is True and second == {"id": first["id"], "success": True, "errors": [],
                                                   "created": False}
    client.delete("Contact", contact_id)
    with pytest.raises(NotFound):
        client.get("Contact", contact_id)


def test_query_with_parent_fields_and_a_child_subquery(client):
    answer = client.query(f"SELECT Name, Account.Name, Owner.Name, "
                          f"(SELECT Subject FROM Tasks ORDER BY Subject LIMIT 2) FROM Contact WHERE Id = '{IDS['contact.yamada_taro']}'")
    record = answer["records"][0]
    assert record["Account"]["Name"] == "株式会社山田商事" and record["Owner"]["Name"] == "佐藤 花子"
    assert record["Tasks"]["totalSize"] == 2 and len(record["Tasks"]["records"]) == 2


def test_query_all_follows_every_page(client, localorg):
    client.composite([{"method": "POST", "url": "/services/data/v62.0/composite/sobjects", "referenceId": "bulk",
                       "body": {"records": [{"attributes": {"type": "Task"}, "Subject": f"paging {n}"}
                                           for n in range(200)]}}])
    client.create("Task", {"Subject": "paging 200"})
    before = localorg.stats()["endpoints"].get("queryMore", 0)
    # the boundary sends no batch size: a 2,000 batch holds all 201; paging is pinned in tests/contract
    answer = client.query_all("SELECT Id FROM Task WHERE Subject LIKE 'paging %'")
    assert answer["totalSize"] == 201 and len(answer["records"]) == 201
    assert localorg.stats()["endpoints"].get("queryMore", 0) == before


def test_search_returns_the_search_records(client):
    hits = client.search("FIND {0312345678} IN PHONE FIELDS RETURNING Contact(Id, Name)")
    assert [(h["Id"], h["attributes"]["type"]) for h in hits] == [(IDS["contact.yamada_taro"], "Contact")]


def test_composite_with_references_is_one_api_request(client, localorg):
    before = localorg.api_requests()
    answers = client.composite([
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "acct",
         "body": {"Name": "参照テスト株式会社"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "person",
         "body": {"LastName": "参照", "AccountId": "@{acct.id}"}},
        {"method": "GET", "referenceId": "back",
         "url": "/services/data/v62.0/query?q=SELECT+Account.Name+FROM+Contact+WHERE+Id+%3D+'@{person.id}'"},
    ], all_or_none=True)
    assert [a["httpStatusCode"] for a in answers] == [201, 201, 200]
    assert answers[2]["body"]["records"][0]["Account"]["Name"] == "参照テスト株式会社"
    assert localorg.api_requests() == before + 1


def test_describe_and_limits(client):
    fields = {f["name"]: f for f in client.describe("Task")["fields"]}
    assert fields["Panel_Call_Key__c"]["externalId"] is True
    assert client.limits()["DailyApiRequests"]["Max"] == 15000


def test_api_usage_is_read_from_every_answer(client, localorg):
    client.query("SELECT Id FROM User LIMIT 1")
    used = localorg.api_requests()
    assert (client.api_usage.used, client.api_usage.allowed) == (used, 15000)
    with pytest.raises(SalesforceRequestError):
        client.query("SELECT Nope FROM User")
    assert client.api_usage.used == used + 1  # errors carry the header too


@pytest.mark.parametrize("soql, code, named", [
    ("SELECT Name FROM Contact GROUP BY Name", "MALFORMED_QUERY", "GROUP BY"),
    ("SELECT Name FROM Contact WHERE Name INCLUDES ('x')", "MALFORMED_QUERY", "INCLUDES"),
    ("SELECT Name FROM Contact FOR UPDATE", "MALFORMED_QUERY", "FOR UPDATE"),
    ("SELECT Nope FROM Contact", "INVALID_FIELD", "Nope"),
    ("SELECT Id FROM Nothing__c", "INVALID_TYPE", "Nothing__c"),
])
def test_refused_queries_raise_request_errors_with_salesforces_code(client, soql, code, named):
    with pytest.raises(SalesforceRequestError) as refused:
        client.query(soql)
    assert refused.value.error_code == code and named in refused.value.message
    assert refused.value.status == 400 and not isinstance(refused.value, SalesforceUnavailable)


@pytest.mark.parametrize("fields, code, named", [
    ({"FirstName": "x"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
    ({"LastName": "x", "AccountId": "001bad"}, "MALFORMED_ID", ["AccountId"]),
    ({"LastName": "x", "Nope__c": 1}, "INVALID_FIELD", []),
])
def test_refused_writes_name_the_fields(client, fields, code, named):
    with pytest.raises(SalesforceRequestError) as refused:
        client.create("Contact", fields)
    assert refused.value.error_code == code and refused.value.fields == named


@pytest.mark.parametrize("status", [500, 502, 503, 504, 403])
def test_outages_and_the_request_limit_are_unavailable(client, localorg, status):
    localorg.admin("faults", error_rate=1, error_status=status)
    with pytest.raises(SalesforceUnavailable):
        client.query("SELECT Id FROM User LIMIT 1")


def test_a_slow_org_times_out_as_unavailable(settings, localorg):
    token = localorg.client_credentials_token()
    slow = SalesforceClient(token["instance_url"], token["access_token"], oauth=settings, timeout=(3.05, 0.3))
    localorg.admin("faults", latency_ms=1500)
    with pytest.raises(SalesforceUnavailable, match="did not answer"):
        slow.query("SELECT Id FROM User LIMIT 1")


def test_a_dead_org_is_unavailable(settings):
    gone = SalesforceClient("http://127.0.0.1:9/localorg", "00Dx!token", oauth=settings, timeout=(0.5, 0.5))
    with pytest.raises(SalesforceUnavailable):
        gone.query("SELECT Id FROM User")


def test_an_expired_user_token_is_refreshed_once_and_reported(settings, localorg, sign_in_tokens):
    access, refresh = sign_in_tokens
    heard: list[TokenResponse] = []
    client = SalesforceClient(localorg.url, access, refresh_token=refresh, oauth=settings,
                              on_token_refreshed=heard.append)
    localorg.admin("faults", expire_tokens=True)
    assert client.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1
    assert len(heard) == 1 and heard[0].access_token == client.access_token != access
    assert client.refresh_token == refresh  # the local org does not rotate refresh tokens


def test_a_revoked_refresh_token_means_reconnect(settings, localorg, sign_in_tokens):
    import requests

    access, refresh = sign_in_tokens
    requests.post(f"{localorg.url}/services/oauth2/revoke", data={"token": refresh}, timeout=10)
    client = SalesforceClient(localorg.url, access, refresh_token=refresh, oauth=settings)
    with pytest.raises(ReconnectRequired):
        client.query("SELECT Id FROM User LIMIT 1")


def test_a_token_without_a_way_to_renew_means_reconnect(settings, localorg):
    client = SalesforceClient(localorg.url, "00Dgarbage!x", oauth=settings)
    with pytest.raises(ReconnectRequired):
        client.query("SELECT Id FROM User LIMIT 1")


@pytest.mark.parametrize("name", ["Contact/../User", "Contact?x=1", "", "1Contact"])
def test_names_that_would_change_the_path_are_refused_before_sending(client, localorg, name):
    before = localorg.api_requests()
    with pytest.raises(ValueError):
        client.get(name, IDS["contact.yamada_taro"])
    assert localorg.api_requests() == before


def test_the_client_never_shows_its_token(client):
    assert client.access_token not in repr(client)


@pytest.fixture
def sign_in_tokens(localorg) -> tuple[str, str]:
    """An agent's access and refresh token, from the web server flow (tests/localorg's helpers do the same)."""
    import re
    import base64
    import hashlib
    import secrets
    from urllib.parse import parse_qs, urlsplit

    import requests

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = "http://127.0.0.1:5999/auth/callback"
    browser = requests.Session()
    params = {"response_type": "code", "client_id": LOCAL_CLIENT_ID, "redirect_uri": redirect_uri,
              "code_challenge": challenge, "code_challenge_method": "S256"}
    page = browser.get(f"{localorg.url}/services/oauth2/authorize", params=params, timeout=10)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    answer = browser.post(page.url, data={**fields, "username": "agent@example.com"}, allow_redirects=False,
                          timeout=10)
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    token = requests.post(f"{localorg.url}/services/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": LOCAL_CLIENT_ID,
        "client_secret": LOCAL_CLIENT_SECRET, "code_verifier": verifier}, timeout=10).json()
    return token["access_token"], token["refresh_token"]


# -- record Ids the panel gets back from its own pages ----------------------------------------------------------------

@pytest.mark.parametrize("text, valid", [
    ("0035g00000AbCdE", True),            # 15 characters, case-sensitive
    ("0035g00000AbCdEAAV", True),         # with its case suffix: no capitals in 0035g or 00000, A, C, E in AbCdE
    ("0035g00000AbCdEAAA", False),        # a suffix that does not match: Salesforce answers MALFORMED_ID
    ("0035g00000AbCdEaav", False),        # suffixes are capitals and digits
    ("0035g00000AbCd", False), ("0035g00000AbCdE1", False), ("003'--00000AbCdE", False), ("", False), (None, False),
])
def test_a_record_id_is_checked_before_any_query_carries_it(text, valid):
    from panel.salesforce.ids import is_record_id

    assert is_record_id(text) is valid
