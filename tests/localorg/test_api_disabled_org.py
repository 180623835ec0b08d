"""An edition without API access (`api_enabled: false`): sign-in works, every REST call is API_DISABLED_FOR_ORG."""

from __future__ import annotations

import pytest
import requests

DISABLED = [{"message": "The REST API is not enabled for this Organization.", "errorCode": "API_DISABLED_FOR_ORG",
             "fields": []}]


@pytest.mark.parametrize("method, path, body", [
    ("GET", "", None),
    ("GET", "query?q=SELECT+Id+FROM+Contact", None),
    ("GET", "search?q=FIND+%7B0312345678%7D+IN+PHONE+FIELDS", None),
    ("GET", "sobjects/Contact/describe", None),
    ("POST", "sobjects/Task", {"Subject": "x"}),
    ("POST", "composite", {"compositeRequest": []}),
    ("GET", "limits", None),
])
def test_every_rest_call_is_refused_with_salesforces_answer(localorg, api, method, path, body):
    localorg.admin("org", api_enabled=False)
    before = localorg.api_requests()
    answer = api.request(method, f"{api.base}/{path}".rstrip("/"), json=body, timeout=10)
    assert answer.status_code == 403
    assert answer.json() == DISABLED
    assert localorg.api_requests() == before  # refused before it is counted


def test_signing_in_still_works_and_the_token_is_refused_only_by_the_api(localorg, sign_in, exchange):
    localorg.admin("org", api_enabled=False)
    token = exchange(sign_in("agent@example.com"))
    assert token.status_code == 200 and token.json()["access_token"]
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert requests.get(f"{localorg.url}/services/oauth2/userinfo", headers=headers, timeout=10).status_code == 200
    refused = requests.get(f"{localorg.url}/services/data/v62.0/query", params={"q": "SELECT Id FROM Lead"},
                           headers=headers, timeout=10)
    assert refused.status_code == 403 and refused.json()[0]["errorCode"] == "API_DISABLED_FOR_ORG"
    assert localorg.client_credentials_token()["access_token"]


def test_an_expired_token_is_still_an_expired_token(localorg):
    localorg.admin("org", api_enabled=False)
    answer = requests.get(f"{localorg.url}/services/data/v62.0/query", params={"q": "SELECT Id FROM Lead"},
                          headers={"Authorization": "Bearer nonsense"}, timeout=10)
    assert answer.status_code == 401 and answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_turning_the_api_back_on_or_a_reset_restores_it(localorg, api):
    localorg.admin("org", api_enabled=False)
    localorg.admin("org", api_enabled=True)
    assert api.get(f"{api.base}/limits", timeout=10).status_code == 200
    localorg.admin("org", api_enabled=False)
    localorg.admin("reset")
    fresh = requests.get(f"{api.base}/limits", headers={
        "Authorization": f"Bearer {localorg.client_credentials_token()['access_token']}"}, timeout=10)
    assert fresh.status_code == 200
